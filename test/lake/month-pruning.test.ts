/**
 * Issue 26 point 6 (≥ 50 × fewer objects over 30 days): a named query opens the compacted month
 * files of the months its days fall in, not every month file of the lake. Counted from what DuckDB
 * itself reports opening (`EXPLAIN ANALYZE`: each scan's "Total Files Read" and file names), on a
 * lake whose small days are compacted into three month files and whose one busy day has a file of
 * its own. The Athena side (the same `month` predicate reaching the months table's projected
 * partition) is asserted on the synthesized template in test/cdk/compaction-stack.test.ts.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPACTED_TABLES, viewSql } from '#lake/athena-compaction-sql.ts';
import { quoteIdent, toColumn } from '#lake/chat-columns.ts';
import { compactLake } from '#lake/compaction.ts';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, type DayWindow, NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { useArchivedLake } from '#test/support/local-archive.ts';

/** Three months of small days and one busy day (2026-02-28, more than SMALL_DAYS chats). */
const DAYS = [
  '2026-01-30',
  '2026-01-31',
  '2026-02-01',
  '2026-02-02',
  '2026-02-27',
  '2026-02-28',
  '2026-03-01',
  '2026-03-02',
];
const BUSY_DAY = '2026-02-28';
const SMALL_DAYS = 30;

/** The archived lake (JSON), and a copy of it compacted. */
const archived = useArchivedLake(DAYS, { chatsPerDay: (day) => (day === BUSY_DAY ? 45 : 15), seed: 26 });
let compacted: string;

beforeAll(async () => {
  compacted = await copyLake(archived.out);
  await compactLake({
    sink: new LocalFileSink(compacted),
    tables: V2_SOURCE.mergedTables,
    erasures: async () => ({ isErased: () => false, hashes: () => [] }),
    smallDayChats: SMALL_DAYS,
  });
}, 60_000);

interface PlanNode {
  /** The profile's operator name (`EXPLAIN ANALYZE`). */
  operator_name?: string;
  extra_info?: Record<string, string | string[]>;
  children?: PlanNode[];
}

/**
 * Each Parquet scan of a query as DuckDB ran it: how many files it opened, and which (their
 * folders, lake-relative). DuckDB names the glob instead when it kept every file the glob matched.
 */
async function parquetScans(
  lake: Pick<LocalLake, 'query'>,
  dir: string,
  sql: string,
): Promise<{ read: number; folders: string[] }[]> {
  const [row] = await lake.query<{ explain_value: string }>(`EXPLAIN (ANALYZE, FORMAT json) ${sql}`);
  const lakeFiles = await listFiles(dir);
  const filesOf = (name: string) => {
    const relative = name.slice(dir.length + 1);
    if (!relative.includes('*')) return [relative];
    const glob = new RegExp(`^${relative.replaceAll('.', '\\.').replaceAll('*', '[^/]*')}$`);
    return lakeFiles.filter((file) => glob.test(file));
  };
  const scans: { read: number; folders: string[] }[] = [];
  const walk = (node: PlanNode) => {
    if (node.operator_name === 'READ_PARQUET') {
      const info = node.extra_info ?? {};
      const names = String(info['Filename(s)'] ?? '');
      scans.push({
        read: Number(info['Total Files Read']),
        folders: names
          .split(', ')
          .filter(Boolean)
          .flatMap(filesOf)
          .map((file) => file.replace(/\/[^/]+$/, '')),
      });
      expect(scans.at(-1)!.folders).toHaveLength(scans.at(-1)!.read);
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(JSON.parse(row!.explain_value) as PlanNode);
  return scans;
}

const READS_CHATS = NAMED_QUERIES.filter((q) => /\bFROM chats\b/.test(q.duckdbSql));

/**
 * The whole-day window from `from` for `lastDays`: today (UTC) minus `from`, in days. DuckDB's
 * `current_date` is in the session's time zone, so the first day may be one off near midnight:
 * the windows below start mid-month, where a day either way changes no file they open.
 */
const lastDaysFrom = (from: string) =>
  Math.round((Date.parse(new Date().toISOString().slice(0, 10)) - Date.parse(from)) / 86_400_000);

describe('a named query opens only the compacted files of its days (DuckDB, counted by EXPLAIN ANALYZE)', () => {
  it('the lake: three month files and the busy day in a file of its own', async () => {
    const parquet = (await listFiles(compacted)).filter((f) => f.endsWith('.parquet'));
    expect(parquet.map((f) => f.replace(/\/[^/]+$/, ''))).toEqual([
      `compacted/chats/dt=${BUSY_DAY}`,
      'compacted/chats/month=2026-01',
      'compacted/chats/month=2026-02',
      'compacted/chats/month=2026-03',
    ]);
    expect((await listFiles(compacted)).filter((f) => f.startsWith('chats/'))).toEqual([]);
  });

  const windows: [string, DayWindow, string[]][] = [
    ['two days of one month', { from: '2026-03-01', to: '2026-03-02' }, ['compacted/chats/month=2026-03']],
    [
      'days across two months and the busy day',
      { from: '2026-02-27', to: '2026-03-01' },
      [`compacted/chats/dt=${BUSY_DAY}`, 'compacted/chats/month=2026-02', 'compacted/chats/month=2026-03'],
    ],
    [
      'the last days (current_date), from 2026-03-02',
      { lastDays: lastDaysFrom('2026-03-02') },
      ['compacted/chats/month=2026-03'],
    ],
  ];

  it.each(windows)('%s: every scan of chats opens only those files', async (_label, window, expected) => {
    const lake = await openLocalLake(compacted);
    try {
      for (const query of READS_CHATS) {
        const sql = query.render(DUCKDB, window);
        const scans = await parquetScans(lake, compacted, sql);
        // Each read of chats is two Parquet scans (the view's day-file and month-file sides);
        // files_by_type's read of chats is planned away here (no chat_files rows to join).
        const reads = scans.length / 2;
        expect(reads, query.name).toBe(
          query.name === 'files_by_type' ? 0 : (sql.match(/\bFROM chats\b/g) ?? []).length,
        );
        const opened = scans.flatMap((scan) => scan.folders).sort();
        expect(opened, query.name).toEqual([...Array(reads)].flatMap(() => expected).sort());
        expect(
          scans.reduce((sum, scan) => sum + scan.read, 0),
          query.name,
        ).toBe(expected.length * reads);
      }
    } finally {
      await lake.close();
    }
  });

  it('a query on dt alone still opens every month file (why the named queries filter on month too)', async () => {
    const lake = await openLocalLake(compacted);
    try {
      const scans = await parquetScans(
        lake,
        compacted,
        "SELECT count(*) FROM chats WHERE dt BETWEEN '2026-03-01' AND '2026-03-02'",
      );
      expect(scans.reduce((sum, scan) => sum + scan.read, 0)).toBe(3);
      const [row] = await lake.query(
        "SELECT count(*) AS n, count(DISTINCT month) AS months FROM chats WHERE month = '2026-03'",
      );
      expect(row).toEqual({ n: 30, months: 1 });
    } finally {
      await lake.close();
    }
  });

  it('every row’s month is the month of its day, in every side of the view', async () => {
    for (const dir of [archived.out, compacted]) {
      const lake = await openLocalLake(dir);
      try {
        const [row] = await lake.query(
          'SELECT count(*) AS n, count_if(month IS DISTINCT FROM substr(dt, 1, 7)) AS wrong FROM chats',
        );
        expect(row).toEqual({ n: DAYS.reduce((sum, day) => sum + archived.sim.chats(day).length, 0), wrong: 0 });
      } finally {
        await lake.close();
      }
    }
  });
});

describe('the month filter changes no answer', () => {
  it.each<[string, DayWindow]>([
    ['every day', ALL_DAYS],
    ['a window across a month boundary', { from: '2026-01-31', to: '2026-02-02' }],
    ['a window across the busy day', { from: '2026-02-27', to: '2026-03-01' }],
    ['the last days (current_date)', { lastDays: lastDaysFrom('2026-02-02') }],
  ])('%s: every named query returns the same rows before and after compaction', async (_label, window) => {
    const rows = async (dir: string) => {
      const lake = await openLocalLake(dir);
      try {
        const out: Record<string, unknown[]> = {};
        for (const query of NAMED_QUERIES) out[query.name] = await lake.runNamed(query.name, window);
        return out;
      } finally {
        await lake.close();
      }
    };
    const before = await rows(archived.out);
    expect(before['chats_per_day']!.length).toBeGreaterThan(0);
    expect(await rows(compacted)).toEqual(before);
  });
});

/**
 * The Athena view's own SQL (`viewSql`, what the Glue view stores) run by DuckDB over tables laid
 * out as the Glue ones (the months table partitioned by `month`, the day table by `dt`): a proxy
 * for Trino's partition pruning, with no Athena here. A filter on the view's `month` prunes the
 * months table only because its branch selects the partition key itself.
 */
describe('the Athena view: a month filter prunes the months table by its partition key', () => {
  const DATABASE = 'livechat_archive';
  const t = COMPACTED_TABLES[0]!;

  async function glueLikeTables(view: string) {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const q = (text: string) => `'${text.replaceAll("'", "''")}'`;
    const empty = t.schema
      .map(toColumn)
      .map((col) => `CAST(NULL AS ${col.duckdbType}) AS ${quoteIdent(col.name)}`)
      .join(', ');
    await c.run(`CREATE SCHEMA ${DATABASE}`);
    // No JSON is left in the compacted lake: the JSON table has no rows.
    await c.run(`CREATE VIEW ${DATABASE}.${t.jsonTable} AS SELECT ${empty}, CAST(NULL AS VARCHAR) AS dt WHERE false`);
    await c.run(
      `CREATE VIEW ${DATABASE}.${t.compactedTable} AS SELECT * FROM read_parquet(${q(`${compacted}/compacted/${t.prefix}dt=*/*.parquet`)}, hive_partitioning = true, hive_types = {'dt': 'VARCHAR'})`,
    );
    await c.run(
      `CREATE VIEW ${DATABASE}.${t.compactedMonthsTable} AS SELECT * FROM read_parquet(${q(`${compacted}/compacted/${t.prefix}month=*/*.parquet`)}, hive_partitioning = true, hive_types = {'month': 'VARCHAR'})`,
    );
    await c.run(`CREATE VIEW ${DATABASE}.${t.view} AS ${view}`);
    await c.run(`SET search_path = '${DATABASE}'`);
    const lake = {
      // Numbers as the local lake returns them (BIGINT as a number).
      query: async <T = Record<string, unknown>>(sql: string) =>
        JSON.parse(
          JSON.stringify((await c.runAndReadAll(sql)).getRowObjectsJS(), (_key, value) =>
            typeof value === 'bigint' ? Number(value) : value,
          ),
        ) as T[],
    };
    const close = () => {
      c.closeSync();
      db.closeSync();
    };
    return { lake, close };
  }

  /** The named queries that read only chats (the others also read tables this schema leaves out). */
  const ONLY_CHATS = READS_CHATS.filter(
    (query) => !/\bFROM (?:chats_json|day_plans|chat_files)\b/.test(query.duckdbSql),
  );

  it('every named query over two days of March opens the March month file only, with the local lake’s rows', async () => {
    expect(ONLY_CHATS.length).toBeGreaterThanOrEqual(12);
    const window = { from: '2026-03-01', to: '2026-03-02' };
    const athena = await glueLikeTables(viewSql(DATABASE, t));
    const local = await openLocalLake(compacted);
    try {
      for (const query of ONLY_CHATS) {
        const sql = query.render(DUCKDB, window);
        const scans = await parquetScans(athena.lake, compacted, sql);
        const opened = scans.flatMap((scan) => scan.folders);
        expect(opened, query.name).toEqual(scans.length > 0 ? ['compacted/chats/month=2026-03'] : []);
        expect(await athena.lake.query(sql), query.name).toEqual(await local.query(sql));
      }
    } finally {
      athena.close();
      await local.close();
    }
  });

  it('an expression of dt in the partition key’s place would open every month file', async () => {
    const derived = viewSql(DATABASE, t).replace(/, "month"\nFROM /, ', substr("dt", 1, 7) AS "month"\nFROM ');
    expect(derived).not.toBe(viewSql(DATABASE, t));
    const athena = await glueLikeTables(derived);
    try {
      const sql = READS_CHATS.find((query) => query.name === 'chats_per_day')!.render(DUCKDB, {
        from: '2026-03-01',
        to: '2026-03-02',
      });
      const opened = (await parquetScans(athena.lake, compacted, sql)).flatMap((scan) => scan.folders).sort();
      expect(opened).toEqual([
        'compacted/chats/month=2026-01',
        'compacted/chats/month=2026-02',
        'compacted/chats/month=2026-03',
      ]);
    } finally {
      athena.close();
    }
  });
});
