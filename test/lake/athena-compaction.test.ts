/**
 * Compaction as it runs on AWS (functions/pipeline/athena-compaction.ts): plan, prepare, the UNLOAD
 * on Athena, commit. There is no Athena here, so each UNLOAD's SELECT runs in DuckDB over tables
 * built like the Glue tables (`chats_json` with `"$path"`, `chats_json_lines` one string per
 * stored line, `chats_compacted` over the Parquet files) and writes its result where UNLOAD would:
 * the logic of the SQL (the latest copy of each chat, the join that keeps the stored line) is
 * checked end to end; its Trino validity is checked by Trino's grammar below, and its semantics in
 * docs/compaction.md.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import {
  COMPACTED_TABLES,
  trinoTypeOf,
  unloadDaySql,
  unloadMonthSql,
  viewColumns,
  viewSql,
} from '#lake/athena-compaction-sql.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import {
  type CompactionSettings,
  commitDay,
  lastCompactableDay,
  type PreparedDay,
  planCompaction,
  prepareDay,
} from '#pipeline/athena-compaction.ts';
import { erasureRecordKey } from '#privacy/erasure-records.ts';
import { compactionNight, UNLOAD, unloadInDuckDb as unloadInto } from '#test/support/athena-unload.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveAgain, useArchivedLake } from '#test/support/local-archive.ts';

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
const BUCKET = 'lake-bucket';
const NOW = new Date('2026-03-10T12:00:00Z'); // the night of 03-10 archives 03-06…03-09 again
const SETTINGS: CompactionSettings = {
  prefixes: ['chats/'],
  database: 'livechat_archive',
  bucket: BUCKET,
  timeZone: 'UTC',
  lookbackDays: 3,
  settleHours: 2,
  maxDays: 60,
  monthFiles: false,
};

const archived = useArchivedLake(DAYS, {
  chatsPerDay: (day) => (day.endsWith('3') ? 120 : 60),
  seed: 21,
});

/** One night of the state machine (test/support/athena-unload.ts), by default tonight's with SETTINGS, each UNLOAD into `files` files. */
const night = (lake: string, sink: LakeSink = new LocalFileSink(lake), now = NOW, settings = SETTINGS, files = 1) =>
  compactionNight(lake, sink, now, settings, files);
const unloadInDuckDb = (lake: string, prepared: PreparedDay, files = 1) => unloadInto(lake, prepared, SETTINGS, files);

async function everyNamedQuery(dir: string) {
  const lake = await openLocalLake(dir);
  try {
    const rows: Record<string, unknown[]> = {};
    for (const query of NAMED_QUERIES) rows[query.name] = await lake.runNamed(query.name, ALL_DAYS);
    return rows;
  } finally {
    await lake.close();
  }
}

async function rowsPerDay(dir: string) {
  const lake = await openLocalLake(dir);
  try {
    return await lake.query(
      'SELECT dt, count(*) AS rows, count(DISTINCT id) AS chats FROM chats GROUP BY dt ORDER BY dt',
    );
  } finally {
    await lake.close();
  }
}

const COMPACTABLE = DAYS.slice(0, 4); // 03-06 is still archived again every night

describe('compaction on AWS: plan, prepare, UNLOAD (run by DuckDB here), commit', () => {
  it('plans the settled days the nightly lookback no longer archives, oldest first, at most maxDays', async () => {
    expect(lastCompactableDay(NOW, SETTINGS)).toBe('2026-03-05');
    const sink = new LocalFileSink(archived.out);
    expect((await planCompaction(sink, SETTINGS, NOW)).days).toEqual(COMPACTABLE);
    expect((await planCompaction(sink, { ...SETTINGS, maxDays: 2 }, NOW)).days).toEqual(COMPACTABLE.slice(0, 2));
    expect((await planCompaction(sink, { ...SETTINGS, lookbackDays: 5 }, NOW)).days).toEqual(COMPACTABLE.slice(0, 2));
  });

  it('a night compacts each planned day into Parquet; every named query returns the same rows', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const { committed } = await night(lake);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual(
      COMPACTABLE.map((day) => [day, 'compacted', 1]),
    );
    const files = (await listFiles(lake)).filter((f) => /^(chats|compacted|compaction-staging)\//.test(f));
    expect(files).toEqual([
      expect.stringMatching(new RegExp(`^chats/dt=${DAYS[4]}/settled-`)),
      ...COMPACTABLE.map((day) =>
        expect.stringMatching(new RegExp(`^compacted/chats/dt=${day}/compacted-[0-9a-f]{16}-00001\\.parquet$`)),
      ),
    ]);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('keeps each row’s stored line verbatim (_raw_json, from the lines table)', async () => {
    const lake = await copyLake(archived.out);
    await night(lake);
    const [file] = (await listFiles(lake)).filter((f) => f.startsWith(`compacted/chats/dt=${DAYS[0]}/`));
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      const rows = (
        await c.runAndReadAll(`SELECT id, _raw_json FROM read_parquet('${join(lake, file!)}')`)
      ).getRowObjectsJS();
      const simChats = new Map(archived.sim.chats(DAYS[0]!).map((chat) => [chat.id, chat]));
      expect(rows).toHaveLength(simChats.size);
      for (const row of rows)
        expect(JSON.parse(String(row['_raw_json']))).toMatchObject(simChats.get(String(row['id']))!);
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });

  it('is idempotent: the next night finds nothing to compact, and a day compacted already is skipped', async () => {
    const lake = await copyLake(archived.out);
    await night(lake);
    const files = await listFiles(lake);
    const again = await night(lake);
    expect(again.plan.days).toEqual([]);
    expect(await prepareDay(new LocalFileSink(lake), SETTINGS, DAYS[0]!)).toEqual({
      day: DAYS[0],
      skipped: 'no JSON files: compacted already',
    });
    expect(await listFiles(lake)).toEqual(files);
  });

  it('a commit that fails half-way (after the new files, before the deletes) leaves each chat once in the queries; the next night finishes', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const inner = new LocalFileSink(lake);
    const failing: LakeSink = Object.assign(Object.create(inner) as LakeSink, {
      delete: async () => Promise.reject(new Error('S3 unavailable')),
    });
    await expect(night(lake, failing)).rejects.toThrow('S3 unavailable');
    const during = await everyNamedQuery(lake);
    expect(during['chats_per_day']).toEqual(before['chats_per_day']);
    expect(during['latest_copy_per_chat']).toHaveLength(before['latest_copy_per_chat']!.length);

    await night(lake);
    expect(await rowsPerDay(lake)).toEqual(
      DAYS.map((day) => ({ dt: day, rows: archived.sim.chats(day).length, chats: archived.sim.chats(day).length })),
    );
    expect((await listFiles(lake)).filter((f) => f.startsWith('compaction-staging/'))).toEqual([]);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('a re-archive of a compacted day (drift found later) is compacted again the next night: the new chats once', async () => {
    const lake = await copyLake(archived.out);
    await night(lake);
    const day = DAYS[2]!;
    archived.sim.addChats(day, 5, 'random');
    const run = await archiveAgain(archived.sim, lake, [day], 'backfill-aws');
    expect(run.complete).toBe(true);
    const { plan, committed } = await night(lake);
    expect(plan.days).toEqual([day]);
    expect(committed.map((c) => c.status)).toEqual(['compacted']);
    const row = (await rowsPerDay(lake)).find((r) => r['dt'] === day);
    expect(row).toEqual({ dt: day, rows: archived.sim.chats(day).length, chats: archived.sim.chats(day).length });
    expect((await listFiles(lake)).filter((f) => f.includes(`dt=${day}/`) && !f.startsWith('manifests/'))).toHaveLength(
      1,
    );
  });

  it('defers the night while an erase is unfinished, and drops a day whose erasure records changed during its UNLOAD', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const record = (complete: boolean) =>
      Buffer.from(
        JSON.stringify({
          v: 1,
          kind: 'visitor-id',
          hash: 'a'.repeat(64),
          runs: [{ at: '', chats: 0, files: [], versionsDeleted: 0, complete }],
        }),
      );
    await sink.put(erasureRecordKey('visitor-id', 'a'.repeat(64)), record(false), 'json');
    const deferred = await planCompaction(sink, SETTINGS, NOW);
    expect(deferred.days).toEqual([]);
    expect(deferred.deferred).toMatch(/^1 erasure\(s\) not complete/);

    await sink.put(erasureRecordKey('visitor-id', 'a'.repeat(64)), record(true), 'json');
    const prepared = (await prepareDay(sink, SETTINGS, DAYS[0]!)) as PreparedDay;
    await unloadInDuckDb(lake, prepared);
    await sink.put(erasureRecordKey('visitor-id', 'b'.repeat(64)), record(true), 'json'); // an erase ran meanwhile
    const before = await listFiles(lake);
    const committed = await commitDay(sink, SETTINGS, prepared);
    expect(committed).toMatchObject({ day: DAYS[0], status: 'deferred', written: [] });
    expect((await listFiles(lake)).filter((f) => f.startsWith('compact'))).toEqual([]);
    expect((await listFiles(lake)).filter((f) => f.startsWith('chats/'))).toEqual(
      before.filter((f) => f.startsWith('chats/')),
    );
  });

  it('a day run again from Prepare stages apart: what an earlier attempt’s UNLOAD left or still writes is never copied', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const before = await rowsPerDay(lake);
    const first = await prepareDay(sink, SETTINGS, COMPACTABLE[0]!, NOW);
    const again = await prepareDay(sink, SETTINGS, COMPACTABLE[0]!, NOW); // the state machine's retry of the day
    if ('skipped' in first || 'skipped' in again) throw new Error('expected a day to compact');
    expect(again.token).toBe(first.token); // the same inputs: the same names for the new files
    expect(UNLOAD.exec(again.unloads[0]!.sql)![2]).not.toBe(UNLOAD.exec(first.unloads[0]!.sql)![2]);
    await unloadInDuckDb(lake, first); // the failed attempt's query, writing after the day was prepared again
    await unloadInDuckDb(lake, again);
    const committed = await commitDay(sink, SETTINGS, again);
    expect(committed.written).toHaveLength(1);
    expect(await rowsPerDay(lake)).toEqual(before); // each chat once
    expect((await listFiles(lake)).filter((f) => f.startsWith('compaction-staging/'))).toEqual([]);
  });

  it('leaves a day a pass is still writing alone', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const [settled] = await sink.list(`chats/dt=${DAYS[1]}/`);
    await sink.put(
      `chats/dt=${DAYS[1]}/run=x.attempt-1.abc.page-00001.json.gz`,
      (await sink.get(settled!))!,
      'ndjson-gzip',
    );
    const plan = await planCompaction(sink, SETTINGS, NOW);
    expect(plan.notSettled).toEqual([DAYS[1]]);
    expect(plan.days).toEqual(COMPACTABLE.filter((day) => day !== DAYS[1]));
    expect(await prepareDay(sink, SETTINGS, DAYS[1]!)).toEqual({
      day: DAYS[1],
      skipped: 'a pass is still writing it (not settled)',
    });
  });
});

describe('compaction on AWS with month files (small days): one Parquet file per month and table', () => {
  const MONTHLY: CompactionSettings = { ...SETTINGS, monthFiles: true };
  const MONTH_FILE = (from: string) =>
    new RegExp(`^compacted/chats/month=2026-03/compacted-from-${from}-[0-9a-f]{16}-00001\\.parquet$`);
  const lakeFiles = async (lake: string) =>
    (await listFiles(lake)).filter((f) => /^(chats|compacted|compaction-staging)\//.test(f));
  const nextNight = new Date(NOW.getTime() + 86_400_000); // 03-06 leaves the lookback

  it('plans the month; a night writes one month file; the next night adds its newly settled day to it; every named query the same', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const { plan, committed } = await night(lake, undefined, NOW, MONTHLY);
    expect(plan.days).toEqual(['2026-03']);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual([['2026-03', 'compacted', 1]]);
    expect(await lakeFiles(lake)).toEqual([
      expect.stringMatching(new RegExp(`^chats/dt=${DAYS[4]}/settled-`)),
      expect.stringMatching(MONTH_FILE('2026-03-01')),
    ]);
    expect(await everyNamedQuery(lake)).toEqual(before);

    const second = await night(lake, undefined, nextNight, MONTHLY);
    expect(second.plan.days).toEqual(['2026-03']);
    expect(await lakeFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE('2026-03-01'))]);
    expect(await everyNamedQuery(lake)).toEqual(before);
    expect((await night(lake, undefined, nextNight, MONTHLY)).plan.days).toEqual([]);
  });

  it('a re-archive of a day in the month file: the month is compacted again, the new chats once, one file', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, undefined, NOW, MONTHLY);
    const before = await rowsPerDay(lake);
    const day = DAYS[1]!;
    archived.sim.addChats(day, 4, 'random');
    const run = await archiveAgain(archived.sim, lake, [day], 'backfill-month');
    expect(run.complete).toBe(true);
    const named = await everyNamedQuery(lake);
    expect(named['duplicate_chats']).toEqual([]); // the compacted copies beside the day's JSON are not counted
    const { plan } = await night(lake, undefined, NOW, MONTHLY);
    expect(plan.days).toEqual(['2026-03']);
    const n = archived.sim.chats(day).length;
    expect(await rowsPerDay(lake)).toEqual(before.map((r) => (r['dt'] === day ? { dt: day, rows: n, chats: n } : r)));
    expect((await lakeFiles(lake)).filter((f) => f.startsWith('compacted/'))).toEqual([
      expect.stringMatching(MONTH_FILE('2026-03-01')),
    ]);
  });

  it('a commit that fails between its write and its deletes: each chat once in the queries, the next night finishes', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const inner = new LocalFileSink(lake);
    const failing: LakeSink = Object.assign(Object.create(inner) as LakeSink, {
      delete: async () => Promise.reject(new Error('S3 unavailable')),
    });
    await night(lake, undefined, NOW, MONTHLY);
    await expect(night(lake, failing, nextNight, MONTHLY)).rejects.toThrow('S3 unavailable');
    const during = await everyNamedQuery(lake);
    expect(during['chats_per_day']).toEqual(before['chats_per_day']);
    expect(during['duplicate_chats']).toEqual([]);
    await night(lake, undefined, nextNight, MONTHLY);
    expect(await lakeFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE('2026-03-01'))]);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('retention: a month file holding expired days is derived again without them, once per newly expired day', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, undefined, NOW, MONTHLY);
    // 03-04 is the first day kept on 2026-04-03 with retentionDays 30.
    const later = new Date('2026-04-03T12:00:00Z');
    const kept = { ...MONTHLY, retentionDays: 30 };
    const { plan } = await night(lake, undefined, later, kept);
    expect(plan.days).toEqual(['2026-03']);
    expect((await lakeFiles(lake)).filter((f) => f.startsWith('compacted/'))).toEqual([
      expect.stringMatching(MONTH_FILE('2026-03-04')),
    ]);
    expect((await rowsPerDay(lake)).map((r) => r['dt'])).toEqual(DAYS.slice(2));
    expect((await night(lake, undefined, later, kept)).plan.days).toEqual([]);
  });

  it('retention: a month whose every day expired runs no UNLOAD; the commit deletes its file, and no later night plans it', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, undefined, NOW, MONTHLY);
    const expired = new Date('2026-05-01T12:00:00Z'); // retentionDays 30: the first day kept is 2026-04-01
    const kept = { ...MONTHLY, retentionDays: 30 };
    const prepared = await prepareDay(new LocalFileSink(lake), kept, '2026-03', expired);
    expect(prepared).toMatchObject({ day: '2026-03', keepFrom: '2026-04-01', unloads: [] });
    const { plan, committed } = await night(lake, undefined, expired, kept);
    expect(plan.days).toEqual(['2026-03']);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual([['2026-03', 'compacted', 0]]);
    expect(await lakeFiles(lake)).toEqual([]); // the month file and the expired day 03-06's JSON
    expect((await night(lake, undefined, expired, kept)).plan.days).toEqual([]);
    expect((await night(lake, undefined, new Date('2026-05-02T12:00:00Z'), kept)).plan.days).toEqual([]);
  });

  it('retention: a month whose kept days hold no rows (its UNLOAD writes a file without rows) loses its file, and no later night plans it', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, undefined, NOW, MONTHLY);
    const kept = { ...MONTHLY, retentionDays: 30 };
    const cutoffInMonth = new Date('2026-04-19T12:00:00Z'); // the first day kept: 2026-03-20, after every day of the lake
    const { plan, committed } = await night(lake, undefined, cutoffInMonth, kept);
    expect(plan.days).toEqual(['2026-03']);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual([['2026-03', 'compacted', 0]]);
    expect(await lakeFiles(lake)).toEqual([]);
    expect((await night(lake, undefined, new Date('2026-04-20T12:00:00Z'), kept)).plan.days).toEqual([]);
  });

  it('an UNLOAD that writes several files: each is a numbered month file, every named query the same; the next night merges them all into the new files', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const { committed } = await night(lake, undefined, NOW, MONTHLY, 3);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual([['2026-03', 'compacted', 3]]);
    const parts = (await lakeFiles(lake)).filter((f) => f.startsWith('compacted/'));
    expect(parts.map((f) => f.slice(-14))).toEqual(['-00001.parquet', '-00002.parquet', '-00003.parquet']);
    expect(new Set(parts.map((f) => f.slice(0, -14))).size).toBe(1);
    expect(await everyNamedQuery(lake)).toEqual(before);

    // The next night reads all three (and the new day), writes three new ones, deletes the old ones.
    const second = await night(lake, undefined, nextNight, MONTHLY, 3);
    expect(second.committed.map((c) => [c.written.length, c.deleted])).toEqual([[3, 4]]);
    const after = await lakeFiles(lake);
    expect(after).toHaveLength(3);
    expect(after.filter((f) => parts.includes(f))).toEqual([]);
    expect(await everyNamedQuery(lake)).toEqual(before);
    expect((await night(lake, undefined, nextNight, MONTHLY, 3)).plan.days).toEqual([]);
  });

  it('with day files configured, a day of a month that has a month file joins the month file', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, undefined, NOW, MONTHLY);
    const { plan } = await night(lake, undefined, nextNight, SETTINGS);
    expect(plan.days).toEqual(['2026-03']);
    expect(await lakeFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE('2026-03-01'))]);
  });
});

describe('the Athena SQL of compaction is Trino', () => {
  it.each(COMPACTED_TABLES.map((t) => [t.view, t] as const))(
    '%s: the month UNLOAD wraps a SELECT Trino’s grammar accepts, each table read by its partition',
    (_name, t) => {
      const sql = unloadMonthSql(
        'livechat_archive',
        t,
        '2026-03',
        ['2026-03-02', '2026-03-03', '2026-02-28'],
        `s3://${BUCKET}/compaction-staging/${t.prefix}month=2026-03/0123456789abcdef/`,
        '2026-03-03',
      );
      const [, select] = UNLOAD.exec(sql)!;
      expect(new TrinoSQL().validate(select!)).toEqual([]);
      // The JSON, lines and day-file tables by dt (the month's days only), the months table by month.
      expect(select!.match(/WHERE (?:\w\.)?dt IN \('2026-03-02', '2026-03-03'\)/g)).toHaveLength(3);
      expect(select).toContain("WHERE m.month = '2026-03'");
      expect(select).toContain("AND dt >= '2026-03-03'");
      expect(select).toContain('PARTITION BY u.dt, u.');
      expect(() => unloadMonthSql('db', t, "2026-03' OR 1=1", [], 's3://b/x/')).toThrow('not a month');
    },
  );

  const trino = new TrinoSQL();
  it.each(COMPACTED_TABLES.map((t) => [t.view, t] as const))(
    '%s: the UNLOAD wraps a SELECT Trino’s grammar accepts',
    (_name, t) => {
      const sql = unloadDaySql(
        'livechat_archive',
        t,
        '2026-03-02',
        `s3://${BUCKET}/compaction-staging/${t.prefix}dt=2026-03-02/0123456789abcdef/`,
      );
      const [, select, location] = UNLOAD.exec(sql)!;
      expect(location).toBe(`s3://${BUCKET}/compaction-staging/${t.prefix}dt=2026-03-02/0123456789abcdef/`);
      expect(trino.validate(select!)).toEqual([]);
      // Every dt filter is on the table it reads (partition pruning: one day, not the lake).
      expect(select!.match(/WHERE (?:\w\.)?dt = '2026-03-02'/g)).toHaveLength(3);
    },
  );

  it.each(COMPACTED_TABLES.map((t) => [t.view, t] as const))(
    '%s: the view’s SQL and every column type parse as Trino',
    (_name, t) => {
      expect(trino.validate(viewSql('livechat_archive', t))).toEqual([]);
      for (const column of viewColumns(t)) {
        expect(trino.validate(`SELECT CAST(NULL AS ${column.type}) AS x`), column.name).toEqual([]);
      }
      expect(trinoTypeOf({ kind: 'struct', fields: [{ name: 'order', type: { kind: 'int' }, comment: '' }] })).toBe(
        'row("order" integer)',
      );
    },
  );

  it('the grammar check can fail', () => {
    expect(trino.validate('SELECT FROM WHERE').length).toBeGreaterThan(0);
    expect(() => unloadDaySql('db', COMPACTED_TABLES[0]!, "2026-03-02' OR 1=1", 's3://b/x/')).toThrow('not a day');
  });
});

describe('the stored line is what the lines table reads', () => {
  it('no stored line contains U+0001, the lines table’s field delimiter', async () => {
    const lines = await readdir(join(archived.out, 'chats'));
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify({ text: 'a\u0001b' })).not.toContain('\u0001');
  });
});
