import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import { ATHENA, DUCKDB, type SqlDialect } from '#lake/sql-dialect.ts';
import { DAY1, DAY2, writeFixtureLake, writeGzipPage } from './fixtures/chat-lake.ts';

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'query-cost-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** DuckDB's physical plan of a query, as one line of text without the box drawing. */
async function planOf(lake: LocalLake, sql: string): Promise<string> {
  const rows = await lake.query<{ explain_value: string }>(`EXPLAIN ${sql}`);
  return rows
    .map((row) => row.explain_value)
    .join(' ')
    .replace(/[│─┌┐└┘├┤┬┴┼]/g, ' ')
    .replace(/\s+/g, ' ');
}

const count = (text: string, word: string) => text.split(word).length - 1;

interface PlanNode {
  name?: string;
  extra_info?: Record<string, string>;
  children?: PlanNode[];
}

/** The extra info (file filter, files scanned) of every READ_JSON of a query's plan. */
async function jsonScansOf(lake: LocalLake, sql: string): Promise<Record<string, string>[]> {
  const [row] = await lake.query<{ explain_value: string }>(`EXPLAIN (FORMAT json) ${sql}`);
  const walk = (node: PlanNode): Record<string, string>[] => [
    ...(node.name === 'READ_JSON' && node.extra_info ? [node.extra_info] : []),
    ...(node.children ?? []).flatMap(walk),
  ];
  return (JSON.parse(row!.explain_value) as PlanNode[]).flatMap(walk);
}

/** Lake tables a query reads, once per FROM. */
const scansOf = (sql: string) =>
  [...sql.matchAll(/\bFROM (chats|chats_json|chat_threads|day_plans|chat_files)\b/g)].map((match) => match[1]);

describe('every named query reads the lake once, pruned by dt (DuckDB plan as a proxy for Trino)', () => {
  let lake: LocalLake;
  beforeAll(async () => {
    const dir = path.join(tmpRoot, 'fixture');
    await writeFixtureLake(dir);
    lake = await openLocalLake(dir);
  });
  afterAll(async () => lake?.close());

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))('%s: one scan, no CTE read twice', async (_n, q) => {
    // DuckDB would materialise a CTE referenced twice (one READ_JSON, two CTE_SCANs); Trino reads the lake again.
    const plan = await planOf(lake, q.duckdbSql);
    const scans = scansOf(q.duckdbSql);
    expect(scans.some((table) => table === 'chats' || table === 'chat_threads')).toBe(true);
    expect(new Set(scans).size, 'each table named in one FROM').toBe(scans.length);
    expect(count(plan, 'Function: READ_JSON')).toBe(scans.length);
    expect(plan).not.toContain('CTE_SCAN');
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))(
    '%s: the dt window reaches the scan as a file filter',
    async (_n, q) => {
      const sql = q.render(DUCKDB, { from: DAY2, to: DAY2 });
      // Each read of a chat table (chats, chats_json) scans DAY2's three pages, not DAY1's.
      const chatScans = (await jsonScansOf(lake, sql)).filter((scan) => scan['Scanning Files'] === '3/4');
      const chatTables = scansOf(sql).filter((table) => table === 'chats' || table === 'chats_json');
      expect(chatScans).toHaveLength(Math.max(chatTables.length, 1));
      for (const scan of chatScans) expect(scan['File Filters']).toBe("(dt BETWEEN '2024-03-02' AND '2024-03-02')");
    },
  );

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))(
    '%s: the default window (last 30 days) reaches the scan too',
    async (_n, q) => {
      const plan = await planOf(lake, q.duckdbSql);
      expect(plan).toContain('File Filters: (dt >= ');
      expect(plan).toContain('Scanning Files: 0/4');
    },
  );
});

describe('the day window is written once per table read, right under its innermost FROM', () => {
  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))('%s', (_n, q) => {
    for (const sql of [q.athenaSql, q.duckdbSql]) {
      const windows = sql.match(/^ *-- EDIT HERE: the days to read.*\n *WHERE (?:\w\.)?dt .*$/gm) ?? [];
      expect(windows).toHaveLength(scansOf(sql).length);
      // The line right after each scan, below any window function.
      const scansWithWindow = sql.match(
        /FROM (?:chats|chats_json|chat_threads|day_plans|chat_files)(?: \w)?\n *-- EDIT HERE: the days to read.*\n *WHERE (?:\w\.)?dt /g,
      );
      expect(scansWithWindow).toHaveLength(scansOf(sql).length);
    }
    expect(q.athenaSql).toContain(`dt >= CAST(current_date - INTERVAL '30' DAY AS varchar)`);
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))(
    '%s: each read of chats, chat_threads or chat_files bounds the month of its days on the next line (both engines)',
    (_n, q) => {
      const range = { from: '2026-01-31', to: '2026-03-01' };
      for (const [d, sql] of [
        [ATHENA, q.athenaSql],
        [DUCKDB, q.duckdbSql],
        [ATHENA, q.render(ATHENA, range)],
        [DUCKDB, q.render(DUCKDB, range)],
      ] as const) {
        const views = (sql.match(/\bFROM (?:chats|chat_threads|chat_files)\b/g) ?? []).length;
        const first = sql === q.athenaSql || sql === q.duckdbSql ? d.daysAgo(30) : `'${range.from}'`;
        const bounded =
          sql.match(
            /\bFROM (?:chats|chat_threads|chat_files)(?: \w)?\n.*\n *WHERE (?:\w\.)?dt .*\n *AND (?:\w\.)?month .*$/gm,
          ) ?? [];
        expect(bounded, `${d.engine} ${sql.slice(0, 40)}`).toHaveLength(views);
        for (const line of bounded) {
          expect(line.split('\n').at(-1)!.trim()).toMatch(
            first.startsWith("'")
              ? /^AND (?:\w\.)?month BETWEEN '2026-01' AND '2026-03'$/
              : new RegExp(`^AND (?:\\w\\.)?month >= substr\\(${first.replace(/[()]/g, '\\$&')}, 1, 7\\)$`),
          );
        }
        // The other tables (chats_json, day_plans) have no month column.
        expect(sql).not.toMatch(/\bFROM (?:chats_json|day_plans)(?: \w)?\n.*\n.*\n *AND (?:\w\.)?month\b/);
      }
    },
  );

  it('renders the same query for both engines from one text', () => {
    for (const q of NAMED_QUERIES) {
      expect(q.athenaSql).toBe(q.render(ATHENA));
      expect(q.duckdbSql).toBe(q.render(DUCKDB));
    }
  });

  it('refuses a malformed window instead of pasting it into SQL', () => {
    const q = NAMED_QUERIES[0]!;
    expect(() => q.render(DUCKDB, { from: "2024-01-01' OR 1=1 --", to: '2024-01-02' })).toThrow(/yyyy-MM-dd/);
    expect(() => q.render(DUCKDB, { lastDays: -1 })).toThrow(/whole number/);
  });
});

/**
 * DuckDB syntax with Trino's NULL semantics for the list minimum: `array_min` is NULL as soon
 * as one element is NULL (DuckDB's `list_min` skips NULLs). Running a query rendered with it
 * shows what Athena computes.
 */
const DUCKDB_WITH_TRINO_NULLS: SqlDialect = {
  ...DUCKDB,
  listMin: (list) => `(CASE WHEN list_count(${list}) = len(${list}) THEN list_min(${list}) END)`,
};

describe('Athena and DuckDB agree on messages without a timestamp', () => {
  let lake: LocalLake;
  const started = Date.UTC(2024, 2, 1, 8, 0, 0) / 1000;
  beforeAll(async () => {
    const dir = path.join(tmpRoot, 'null-timestamps');
    const message = (user_type: string, timestamp: number | null) => ({
      author_name: user_type,
      text: 'hello',
      date: 'Fri, 03/01/24 08:00:00 am',
      timestamp,
      user_type,
    });
    writeGzipPage(dir, {
      dt: DAY1,
      page: 1,
      runId: 'run-1',
      archivedAt: '2024-03-02T00:00:00.000Z',
      chats: [
        {
          type: 'chat',
          id: 'N1',
          started_timestamp: started,
          // the visitor's first message lost its timestamp; the second was at +10 s, the agent answered at +25 s
          messages: [message('visitor', null), message('visitor', started + 10), message('agent', started + 25)],
        },
        {
          type: 'chat',
          id: 'N2',
          started_timestamp: started,
          messages: [message('visitor', started + 5), message('agent', null), message('agent', started + 8)],
        },
      ],
    });
    lake = await openLocalLake(dir);
  });
  afterAll(async () => lake?.close());

  const firstResponse = NAMED_QUERIES.find((q) => q.name === 'first_response_time')!;

  it('first_response_time gives the same answer under both NULL semantics', async () => {
    const duck = await lake.query(firstResponse.render(DUCKDB, ALL_DAYS));
    const trino = await lake.query(firstResponse.render(DUCKDB_WITH_TRINO_NULLS, ALL_DAYS));
    expect(trino).toEqual(duck);
    // N1: 25 - 10 = 15 s, N2: 8 - 5 = 3 s
    expect(duck[0]).toMatchObject({ day_or_total: DAY1, chats_with_response: 2, avg_first_response_s: 9 });
  });

  it('would not, if the minimum were taken over the raw list (the emulation has teeth)', async () => {
    const [row] = await lake.query<{ trino: unknown; duck: unknown }>(
      `SELECT ${DUCKDB_WITH_TRINO_NULLS.listMin('[NULL, 3, 1]')} AS trino, ${DUCKDB.listMin('[NULL, 3, 1]')} AS duck`,
    );
    expect(row).toEqual({ trino: null, duck: 1 });
  });

  it('no named query calls the engine minimum except through minOf (NULLs removed first)', () => {
    for (const q of NAMED_QUERIES) {
      for (const call of q.athenaSql.matchAll(/array_min\(/g)) {
        expect(q.athenaSql.slice(call.index, call.index + 17), q.name).toBe('array_min(filter(');
      }
      const guarded = q.athenaSql.match(/, v -> v IS NOT NULL\)\)/g)?.length ?? 0;
      expect(q.athenaSql.match(/array_min\(/g)?.length ?? 0, q.name).toBe(guarded);
    }
  });
});
