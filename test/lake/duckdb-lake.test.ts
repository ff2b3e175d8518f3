import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_COLUMNS, PARTITION_KEYS } from '#lake/chat-columns.ts';
import { MONTH_COLUMN } from '#lake/compacted-columns.ts';
import { EmptyLakeError, type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import {
  DAY1,
  EXPECTED_LATEST_COPIES,
  EXPECTED_ROWS,
  expectRows,
  FIXTURE_PAGES,
  FIXTURE_WINDOW,
  toRecord,
  writeFixtureLake,
  writeGzipPage,
  writeRawPage,
} from './fixtures/chat-lake.ts';
import { SEED_CHAT } from './fixtures/seed-chat.ts';

const tmpRoot = mkdtempSync(path.join(tmpdir(), 'lake-test-'));
let counter = 0;
function newLakeDir(name = 'lake'): string {
  const dir = path.join(tmpRoot, `${++counter}-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Drops null-valued keys recursively (DuckDB fills absent struct fields with NULL). */
function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, stripNulls(v)]),
    );
  }
  return value;
}

describe('named queries on the fixture lake (DuckDB)', () => {
  let lake: LocalLake;
  beforeAll(async () => {
    const dir = newLakeDir();
    await writeFixtureLake(dir);
    lake = await openLocalLake(dir, { strict: true });
  });
  afterAll(async () => lake?.close());

  it('has an expectation for every named query', () => {
    expect([...Object.keys(EXPECTED_ROWS), 'latest_copy_per_chat'].sort()).toEqual(
      NAMED_QUERIES.map((q) => q.name).sort(),
    );
  });

  it.each(Object.entries(EXPECTED_ROWS))('%s returns the expected rows', async (name, expected) => {
    expectRows(await lake.runNamed(name, FIXTURE_WINDOW), expected);
  });

  it('latest_copy_per_chat returns each chat once, latest copy, with all columns', async () => {
    const rows = await lake.runNamed('latest_copy_per_chat', ALL_DAYS);
    expect(rows.map((r) => Object.fromEntries(Object.keys(EXPECTED_LATEST_COPIES[0]!).map((k) => [k, r[k]])))).toEqual(
      EXPECTED_LATEST_COPIES,
    );
    expect(Object.keys(rows[0]!)).toEqual([
      ...CHAT_COLUMNS.map((c) => c.name),
      ...PARTITION_KEYS.map((k) => k.name),
      MONTH_COLUMN.name,
      'copy_rank',
      'copies',
    ]);
  });

  it('exposes exactly CHAT_COLUMNS + dt + month with the declared DuckDB types', async () => {
    const described = await lake.query<{ column_name: string; column_type: string }>('DESCRIBE chats');
    const expected = [...CHAT_COLUMNS, ...PARTITION_KEYS, MONTH_COLUMN];
    expect(described.map((d) => d.column_name)).toEqual(expected.map((c) => c.name));
    for (const [i, c] of expected.entries()) {
      const [canonical] = await lake.query<{ t: string }>(`SELECT typeof(CAST(NULL AS ${c.duckdbType})) AS t`);
      expect(described[i]!.column_type, c.name).toBe(canonical!.t);
    }
  });

  it('keeps message text verbatim (unicode, quotes, backslash, newline, tab) and absent fields as NULL', async () => {
    const [c2] = await lake.query<Record<string, unknown>>("SELECT * FROM chats WHERE id = 'C2'");
    const source = FIXTURE_PAGES[0]!.chats[1]!;
    expect(c2!.visitor_name).toBe('Zoë "Z" Łukasiewicz');
    const messages = c2!.messages as Record<string, unknown>[];
    expect(messages[0]!.text).toBe('Zażółć gęślą jaźń 🚀 "quoted" \\ backslash\nsecond line\ttab');
    expect(messages[0]!.agent_id).toBeNull();
    expect(messages[1]!.agent_id).toBe('bob@example.com');
    for (const optional of ['supervisors', 'prechat_survey', 'custom_variables', 'integration_variables', 'goals']) {
      expect(source).not.toHaveProperty(optional);
      expect(c2![optional], optional).toBeNull();
    }
    expect(c2).toMatchObject({ dt: DAY1, month: DAY1.slice(0, 7) });
    expect(stripNulls({ ...c2, dt: undefined, month: undefined })).toEqual(
      stripNulls({ ...toRecord(source, FIXTURE_PAGES[0]!), dt: undefined }),
    );
  });

  it('returns plain numbers for BIGINT results and strings when not safe', async () => {
    const [row] = await lake.query(
      "SELECT count(*) AS n, 9007199254740993::BIGINT AS big, [1::BIGINT, 2::BIGINT] AS list, {'x': 3::HUGEINT} AS s, sum(duration) AS total FROM chats",
    );
    expect(row).toEqual({ n: 8, big: '9007199254740993', list: [1, 2], s: { x: 3 }, total: 3900 });
    expect(() => JSON.stringify(row)).not.toThrow();
  });

  it('rejects unknown named queries with the list of names', async () => {
    await expect(lake.runNamed('nope')).rejects.toThrow(/Unknown named query 'nope'.*chats_per_day/);
  });

  it('non-strict mode (plain read_json with explicit columns) gives the same answers', async () => {
    const dir = newLakeDir();
    await writeFixtureLake(dir);
    const loose = await openLocalLake(dir, { strict: false });
    try {
      for (const [name, expected] of Object.entries(EXPECTED_ROWS))
        expectRows(await loose.runNamed(name, FIXTURE_WINDOW), expected);
      const described = await loose.query<{ column_name: string }>('DESCRIBE chats');
      expect(described.map((d) => d.column_name)).toEqual(
        [...CHAT_COLUMNS, ...PARTITION_KEYS, MONTH_COLUMN].map((c) => c.name),
      );
    } finally {
      await loose.close();
    }
  });
});

describe('the seed example chat', () => {
  it('round-trips every field through the lake', async () => {
    const dir = newLakeDir('seed');
    const page = {
      dt: '2013-01-23',
      page: 1,
      runId: 'run-seed',
      archivedAt: '2013-01-24T00:00:00.000Z',
      chats: [SEED_CHAT],
    };
    writeGzipPage(dir, page);
    const lake = await openLocalLake(dir, { strict: true });
    try {
      const rows = await lake.query('SELECT * FROM chats');
      expect(rows).toHaveLength(1);
      expect(stripNulls(rows[0])).toEqual({ ...toRecord(SEED_CHAT, page), dt: '2013-01-23', month: '2013-01' });
      const [frt] = await lake.runNamed('first_response_time', ALL_DAYS);
      // the greeting at start is not a response; the visitor wrote at +8 s, the agent answered at +12 s
      expect(frt).toMatchObject({ day_or_total: '2013-01-23', chats_with_response: 1, avg_first_response_s: 4 });
    } finally {
      await lake.close();
    }
  });
});

describe('openLocalLake', () => {
  it('fails clearly on a missing directory', async () => {
    const missing = path.join(tmpRoot, 'does-not-exist');
    await expect(openLocalLake(missing, { strict: true })).rejects.toThrow(EmptyLakeError);
    await expect(openLocalLake(missing, { strict: true })).rejects.toThrow(/Lake directory not found/);
  });

  it('fails clearly on an empty lake', async () => {
    const dir = newLakeDir('empty');
    await expect(openLocalLake(dir, { strict: true })).rejects.toThrow(/No chat files in lake .*chats\/dt=YYYY-MM-DD/);
    mkdirSync(path.join(dir, 'chats', 'dt=2024-01-01'), { recursive: true });
    await expect(openLocalLake(dir, { strict: true })).rejects.toThrow(EmptyLakeError);
  });

  it('escapes the lake path (quotes, spaces, glob characters)', async () => {
    for (const name of ["it's a 'lake'", 'glob [x] *?']) {
      const dir = newLakeDir(name);
      await writeFixtureLake(dir);
      const lake = await openLocalLake(dir, { strict: true });
      try {
        expect(await lake.query('SELECT count(*) AS n FROM chats')).toEqual([{ n: 8 }]);
      } finally {
        await lake.close();
      }
    }
  });

  it('sees pages written after opening (the view globs at query time)', async () => {
    const dir = newLakeDir();
    writeGzipPage(dir, FIXTURE_PAGES[0]!);
    const lake = await openLocalLake(dir, { strict: true });
    try {
      expect(await lake.query('SELECT count(*) AS n FROM chats')).toEqual([{ n: 4 }]);
      writeGzipPage(dir, FIXTURE_PAGES[1]!);
      expect(await lake.query('SELECT count(*) AS n FROM chats')).toEqual([{ n: 6 }]);
    } finally {
      await lake.close();
    }
  });

  it('close() is idempotent and later queries reject', async () => {
    const dir = newLakeDir();
    writeGzipPage(dir, FIXTURE_PAGES[0]!);
    const lake = await openLocalLake(dir, { strict: true });
    await lake.close();
    await lake.close();
    await expect(lake.query('SELECT 1')).rejects.toThrow(/closed/);
  });
});

describe('strict schema', () => {
  const good = toRecord(FIXTURE_PAGES[0]!.chats[0]!, FIXTURE_PAGES[0]!);
  const line = (patch: Record<string, unknown>) => JSON.stringify({ ...good, id: 'BAD1', ...patch });

  /** A fixture lake plus one bad page; returns the open (strict) lake. */
  async function lakeWith(lines: string[], dt = DAY1, strict = true): Promise<LocalLake> {
    const dir = newLakeDir('bad');
    await writeFixtureLake(dir);
    writeRawPage(dir, dt, 9, lines);
    return openLocalLake(dir, { strict });
  }

  async function expectFailure(lines: string[], pattern: RegExp, dt = DAY1): Promise<void> {
    const lake = await lakeWith(lines, dt);
    try {
      await expect(lake.query('SELECT count(*) FROM chats')).rejects.toThrow(pattern);
      await expect(lake.runNamed('chats_per_day', ALL_DAYS)).rejects.toThrow(pattern);
    } finally {
      await lake.close();
    }
  }

  it.each([
    ['an unknown top-level field', { greeting: 'hi' }, /\$: unknown field\(s\): greeting/],
    ['a string given as a boolean', { pending: 'true' }, /\$\.pending: expected boolean, got VARCHAR/],
    ['an int given as a string', { duration: '600' }, /\$\.duration: expected int, got VARCHAR/],
    ['a non-integral int', { duration: 1.5 }, /\$\.duration: expected int, got DOUBLE/],
    ['an int out of range', { duration: 3_000_000_000 }, /\$\.duration: int out of range: 3000000000/],
    ['a bigint given as a string', { started_timestamp: '1709280000' }, /\$\.started_timestamp: expected bigint/],
    ['a string given as a number', { visitor_id: 42 }, /\$\.visitor_id: expected string, got U?BIGINT/],
    ['an object instead of an array', { group: { id: 0 } }, /\$\.group: expected array, got OBJECT/],
    ['a string inside array<int>', { group: ['0'] }, /\$\.group\[\]: expected int, got VARCHAR/],
    [
      'an unknown field inside messages',
      { messages: [{ author_name: 'x', text: 'y', timestamp: 1, user_type: 'visitor', event_type: 'message' }] },
      /\$\.messages\[\]: unknown field\(s\): event_type/,
    ],
    [
      'an unknown field inside a nested struct',
      { visitor: { id: 'v', language: 'pl' } },
      /\$\.visitor: unknown field\(s\): language/,
    ],
    [
      'a struct field of the wrong type',
      { goals: [{ id: '71', name: 'x' }] },
      /\$\.goals\[\]\.id: expected int, got VARCHAR/,
    ],
    ['a missing required field', { _archived_at: undefined }, /\$\._archived_at: required field missing/],
    ['a differently-cased key', { Rate: 'rated_good' }, /\$: unknown field\(s\): Rate/],
  ])('fails the query on %s', async (_what, patch, pattern) => {
    await expectFailure([line(patch)], pattern);
  });

  it('names the file and the chat id in the error', async () => {
    await expectFailure(
      [line({ duration: '600' })],
      /schema violation in .*dt=2024-03-01\/page-00009\.json\.gz \(chat id BAD1\)/,
    );
  });

  it('fails on a line that is not a JSON object, and on malformed JSON', async () => {
    await expectFailure(['[1, 2, 3]'], /expected a JSON object per line, got ARRAY/);
    await expectFailure(['{"id": "X", "type": "chat"'], /malformed|unexpected/i);
  });

  it('fails on a partition directory that is not yyyy-MM-dd', async () => {
    await expectFailure([line({})], /partition directory dt=2024-13-45 is not yyyy-MM-dd/, '2024-13-45');
  });

  it('still fails when an outer predicate would filter the bad row out', async () => {
    const lake = await lakeWith([line({ type: 'missed_chat', duration: '600' })]);
    try {
      await expect(lake.query("SELECT id FROM chats WHERE type = 'chat'")).rejects.toThrow(/expected int/);
      await expect(lake.query("SELECT id FROM chats WHERE rate = 'rated_good'")).rejects.toThrow(/expected int/);
      // other partitions are not read, so they are not validated either
      expect(await lake.query("SELECT count(*) AS n FROM chats WHERE dt = '2024-03-02'")).toEqual([{ n: 4 }]);
    } finally {
      await lake.close();
    }
  });

  it('reads like Athena by default: a field the table does not know is ignored, not fatal', async () => {
    const dir = newLakeDir('default');
    await writeFixtureLake(dir);
    writeRawPage(dir, DAY1, 9, [line({ tags: ['vip'] })]);
    const lake = await openLocalLake(dir);
    try {
      expect(await lake.query('SELECT count(*) AS n FROM chats')).toEqual([{ n: 9 }]);
    } finally {
      await lake.close();
    }
  });

  it('non-strict mode drops unknown fields silently but still fails on uncastable values', async () => {
    const unknown = await lakeWith([line({ tags: ['vip'] })], DAY1, false);
    try {
      expect(await unknown.query('SELECT count(*) AS n FROM chats')).toEqual([{ n: 9 }]);
    } finally {
      await unknown.close();
    }
    const uncastable = await lakeWith([line({ duration: 'abc' })], DAY1, false);
    try {
      await expect(uncastable.query('SELECT sum(duration) FROM chats')).rejects.toThrow(/abc/);
    } finally {
      await uncastable.close();
    }
  });
});
