import { mkdtemp, readdir, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPACT_EXIT, compactCommand, keepNewestAge } from '#cli/compact-command.ts';
import { PRUNE_EXIT, pruneCommand } from '#cli/prune-command.ts';
import { compactLake } from '#lake/compaction.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { buildReportData } from '#report/build-report.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { capture, runArchiveCli } from '#test/support/cli-runner.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveAgain, useArchivedLake } from '#test/support/local-archive.ts';

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
// Busy and quiet days, missed chats, goals, surveys, tags: the simulator's realistic mix.
const archived = useArchivedLake(DAYS, {
  chatsPerDay: (day) => (day.endsWith('4') ? 140 : 70),
  seed: 11,
});

const compact = (
  dir: string,
  sink: LakeSink = new LocalFileSink(dir),
  bounds: { from?: string; to?: string; smallDayChats?: number } = {},
) =>
  compactLake({
    sink,
    tables: V2_SOURCE.mergedTables,
    erasures: () => ErasedVisitors.load(sink),
    keepAge: (written, inputs) => keepNewestAge(dir, written, inputs),
    ...bounds,
  });

/** The one month file of the lake's month (all of DAYS are in March 2026, every one a small day). */
const MONTH_FILE = /^compacted\/chats\/month=2026-03\/compacted-[0-9a-f]{16}\.parquet$/;

/** Every named query's rows over the whole lake. */
async function everyNamedQuery(dir: string): Promise<Record<string, unknown[]>> {
  const lake = await openLocalLake(dir);
  try {
    const rows: Record<string, unknown[]> = {};
    for (const query of NAMED_QUERIES) rows[query.name] = await lake.runNamed(query.name, ALL_DAYS);
    return rows;
  } finally {
    await lake.close();
  }
}

async function rawRows(dir: string, sql: string) {
  const lake = await openLocalLake(dir);
  try {
    return await lake.query(sql);
  } finally {
    await lake.close();
  }
}

const chatFiles = async (dir: string) => (await listFiles(dir)).filter((f) => /^(chats|compacted)\//.test(f));

/** Each day: rows in the chats view, distinct ids. */
const rowsPerDay = (dir: string) =>
  rawRows(dir, 'SELECT dt, count(*) AS rows, count(DISTINCT id) AS chats FROM chats GROUP BY dt ORDER BY dt');

describe('compacting settled days into Parquet (local, DuckDB)', () => {
  it('every named query returns the same rows before and after, from one Parquet file for the month and no JSON', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    expect(before['chats_per_day']).toHaveLength(DAYS.length);

    const result = await compact(lake);

    expect(result.days.map((d) => [d.day, d.status, d.into])).toEqual(DAYS.map((day) => [day, 'compacted', 'month']));
    expect(result.days.map((d) => d.chats)).toEqual(DAYS.map((day) => archived.sim.chats(day).length));
    expect(await chatFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('a day busier than smallDayChats gets a file of its own; the others share the month file', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const busy = DAYS.find((day) => archived.sim.chats(day).length > 100)!;
    const result = await compact(lake, undefined, { smallDayChats: 100 });
    expect(result.days.map((d) => [d.day, d.into])).toEqual(DAYS.map((day) => [day, day === busy ? 'day' : 'month']));
    expect(await chatFiles(lake)).toEqual([
      expect.stringMatching(new RegExp(`^compacted/chats/dt=${busy}/compacted-[0-9a-f]{16}\\.parquet$`)),
      expect.stringMatching(MONTH_FILE),
    ]);
    expect(await everyNamedQuery(lake)).toEqual(before);
    const [monthFile] = (await chatFiles(lake)).filter((f) => MONTH_FILE.test(f));
    const days = await rawRows(
      lake,
      `SELECT dt, count(*) AS n FROM read_parquet('${join(lake, monthFile!)}') GROUP BY dt ORDER BY dt`,
    );
    expect(days).toEqual(
      DAYS.filter((day) => day !== busy).map((day) => ({ dt: day, n: archived.sim.chats(day).length })),
    );

    // smallDayChats 0: every day a file of its own (as before month files).
    const perDay = await copyLake(archived.out);
    await compact(perDay, undefined, { smallDayChats: 0 });
    expect(await chatFiles(perDay)).toEqual(
      DAYS.map((day) =>
        expect.stringMatching(new RegExp(`^compacted/chats/dt=${day}/compacted-[0-9a-f]{16}\\.parquet$`)),
      ),
    );
    expect(await everyNamedQuery(perDay)).toEqual(before);
    // Compacting again with month files: nothing to do (no JSON left); a re-archived day moves into the month file.
    expect((await compact(perDay)).days).toEqual([]);
  });

  it('the HTML report’s data is the same before and after (it reads compacted days)', async () => {
    const lake = await copyLake(archived.out);
    const options = { lakeDir: lake, outDir: lake, now: () => new Date('2026-03-10T00:00:00Z') };
    const before = await buildReportData(options);
    expect(before.totals.chats).toBe(DAYS.reduce((sum, day) => sum + archived.sim.chats(day).length, 0));
    await compact(lake);
    expect(await buildReportData(options)).toEqual(before);
  });

  it('keeps every field verbatim: the stored line is in the Parquet file, and the typed columns match the JSON view', async () => {
    const lake = await copyLake(archived.out);
    const columns =
      'id, type, visitor, agents, goals, messages, events, "group", tags, queue, started_timestamp, duration, "_run_id", "_archived_at", "_page", dt';
    const before = await rawRows(lake, `SELECT ${columns} FROM chats ORDER BY id`);
    await compact(lake);
    expect(await rawRows(lake, `SELECT ${columns} FROM chats ORDER BY id`)).toEqual(before);
    const [file] = await chatFiles(lake);
    expect(file).toMatch(MONTH_FILE);
    const raw = await rawRows(
      lake,
      `SELECT _raw_json FROM read_parquet('${join(lake, file!)}') WHERE dt = '${DAYS[0]}'`,
    );
    const stored = raw.map((row) => JSON.parse(String(row['_raw_json'])) as { id: string });
    expect(stored.map((chat) => chat.id).sort()).toEqual(
      archived.sim
        .chats(DAYS[0]!)
        .map((chat) => chat.id)
        .sort(),
    );
    const simChat = archived.sim.chats(DAYS[0]!)[0]!;
    const storedChat = stored.find((chat) => chat.id === simChat.id) as Record<string, unknown>;
    expect(storedChat).toMatchObject(simChat);
  });

  it('is idempotent: a second run changes nothing', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const files = await chatFiles(lake);
    const times = await Promise.all(files.map(async (f) => (await stat(join(lake, f))).mtimeMs));
    const again = await compact(lake);
    expect(again.days).toEqual([]);
    expect(await chatFiles(lake)).toEqual(files);
    expect(await Promise.all(files.map(async (f) => (await stat(join(lake, f))).mtimeMs))).toEqual(times);
  });

  it('a crash between writing the Parquet files and deleting the JSON leaves every chat once in the queries; the next run finishes', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const inner = new LocalFileSink(lake);
    const crashing: LakeSink = { ...bind(inner), delete: async () => Promise.reject(new Error('killed')) };
    await expect(compact(lake, crashing)).rejects.toThrow('killed');
    // Every day has both copies now (its JSON and the month file): latest-copy queries still count each chat once.
    const left = await chatFiles(lake);
    expect(left.filter((f) => MONTH_FILE.test(f))).toHaveLength(1);
    expect(left.filter((f) => f.startsWith('chats/'))).toHaveLength(DAYS.length);
    const during = await everyNamedQuery(lake);
    expect(during['chats_per_day']).toEqual(before['chats_per_day']);
    expect(during['latest_copy_per_chat']!.length).toBe(before['latest_copy_per_chat']!.length);
    expect(during['duplicate_chats']).toEqual([]);
    expect(during['day_completeness']).toEqual(before['day_completeness']);

    await compact(lake);
    expect(await rowsPerDay(lake)).toEqual(
      DAYS.map((day) => ({ dt: day, rows: archived.sim.chats(day).length, chats: archived.sim.chats(day).length })),
    );
    expect((await chatFiles(lake)).every((f) => f.startsWith('compacted/'))).toBe(true);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('a re-archive after compaction (drift found later) shows the new chats once, before and after compacting again', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const day = DAYS[1]!;
    const added = archived.sim.addChats(day, 7, 'random');
    const run = await archiveAgain(archived.sim, lake, [day], 'backfill-1');
    expect(run.complete).toBe(true);
    const expected = archived.sim.chats(day).length;

    const perDay = async () => (await rowsPerDay(lake)).find((row) => row['dt'] === day);
    const chatsPerDay = async () =>
      ((await everyNamedQuery(lake))['chats_per_day'] as Array<{ dt: string; total_chats: number }>).find(
        (r) => r.dt === day,
      );
    // Not compacted yet: the day's JSON (the new fetch) and its Parquet are both read; latest copy counts each chat once.
    expect((await chatsPerDay())?.total_chats).toBe(expected);
    const latest = await rawRows(
      lake,
      `SELECT id, "_run_id" FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "_archived_at" DESC) AS r FROM chats WHERE dt = '${day}') WHERE r = 1`,
    );
    expect(latest.filter((row) => row['_run_id'] === 'backfill-1')).toHaveLength(expected);
    expect(latest.map((row) => row['id'])).toEqual(expect.arrayContaining(added.map((chat) => chat.id)));
    // The view holds both copies of the chats compacted before; the duplicate counts count each chat once.
    expect(await perDay()).toEqual({ dt: day, rows: 2 * expected - added.length, chats: expected });
    const named = await everyNamedQuery(lake);
    expect(named['duplicate_chats']).toEqual([]);
    expect((named['day_completeness'] as Array<Record<string, unknown>>).find((r) => r['dt'] === day)).toMatchObject({
      archived_chats: expected,
      duplicates: 0,
      status: 'complete',
    });

    const again = await compact(lake);
    expect(again.days.map((d) => d.day)).toEqual([day]);
    expect(await perDay()).toEqual({ dt: day, rows: expected, chats: expected });
    expect((await chatsPerDay())?.total_chats).toBe(expected);
    expect(await chatFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    const runs = await rawRows(lake, `SELECT DISTINCT "_run_id" AS run FROM chats WHERE dt = '${day}'`);
    expect(runs).toEqual([{ run: 'backfill-1' }]);
    // The month's other days are in the new file unchanged.
    expect(await rowsPerDay(lake)).toEqual(
      DAYS.map((d) => ({ dt: d, rows: archived.sim.chats(d).length, chats: archived.sim.chats(d).length })),
    );
  });

  it('duplicate counts: a compacted copy beside JSON copies of its day is not counted, two JSON copies still are', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const day = DAYS[2]!;
    await archiveAgain(archived.sim, lake, [day], 'backfill-3');
    const sink = new LocalFileSink(lake);
    const [settled] = (await sink.list(`chats/dt=${day}/`)).filter((k) => k.endsWith('.json.gz'));
    // A later pass wrote the day again and has not settled: every chat of the day twice in JSON, once compacted.
    await sink.put(
      `chats/dt=${day}/run=later.attempt-1.abc123.page-00001.json.gz`,
      (await sink.get(settled!))!,
      'ndjson-gzip',
    );
    const chats = archived.sim.chats(day).length;
    expect(await rowsPerDay(lake)).toContainEqual({ dt: day, rows: 3 * chats, chats });
    const named = await everyNamedQuery(lake);
    const duplicates = named['duplicate_chats'] as Array<{ copies: number; partitions: number }>;
    expect(duplicates).toHaveLength(chats);
    expect(duplicates.every((row) => row.copies === 2 && row.partitions === 1)).toBe(true);
    expect((named['day_completeness'] as Array<Record<string, unknown>>).find((r) => r['dt'] === day)).toMatchObject({
      archived_chats: chats,
      duplicates: chats,
      status: 'duplicates',
    });
  });

  it('leaves a day a pass is still writing alone (only settled days are compacted)', async () => {
    const lake = await copyLake(archived.out);
    const day = DAYS[2]!;
    const sink = new LocalFileSink(lake);
    const [settled] = (await sink.list(`chats/dt=${day}/`)).filter((k) => k.endsWith('.json.gz'));
    const pending = `chats/dt=${day}/run=later.attempt-1.abc123.page-00001.json.gz`;
    await sink.put(pending, (await sink.get(settled!))!, 'ndjson-gzip');
    const result = await compact(lake);
    expect(result.days.find((d) => d.day === day)?.status).toBe('not_settled');
    expect((await chatFiles(lake)).filter((f) => f.includes(day)).sort()).toEqual([settled, pending].sort());
  });

  it('compacts only the days between --from and --to; the views read compacted and JSON days together', async () => {
    const lake = await copyLake(archived.out);
    const before = await everyNamedQuery(lake);
    const result = await compact(lake, undefined, { from: DAYS[1], to: DAYS[2] });
    expect(result.days.map((d) => d.day)).toEqual([DAYS[1], DAYS[2]]);
    expect(await everyNamedQuery(lake)).toEqual(before);
  });

  it('erase removes the visitor from compacted days, and records what it removed for day_completeness', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const day = DAYS[3]!;
    const visitorId = archived.sim.chats(day)[0]!['visitor_id'] as string;
    const theirs = archived.sim.allChats().filter((chat) => chat['visitor_id'] === visitorId);
    const result = await eraseVisitor({
      sink: new LocalFileSink(lake),
      target: { kind: 'visitor-id', value: visitorId },
    });
    expect(result.chats).toBe(theirs.length);
    expect(result.files.every((f) => f.endsWith('.parquet'))).toBe(true);
    const left = await rawRows(
      lake,
      `SELECT count(*) AS n FROM chats WHERE visitor_id = '${visitorId}' OR visitor.id = '${visitorId}'`,
    );
    expect(left).toEqual([{ n: 0 }]);
    const raw = await rawRows(
      lake,
      `SELECT count(*) AS n FROM read_parquet('${lake}/compacted/chats/*/*.parquet') WHERE _raw_json LIKE '%${visitorId}%'`,
    );
    expect(raw).toEqual([{ n: 0 }]);
    const completeness = (await everyNamedQuery(lake))['day_completeness'] as Array<{ dt: string; status: string }>;
    expect(completeness.map((row) => row.status)).toEqual(DAYS.map(() => 'complete'));
    // Compacting again keeps the visitor out.
    const again = await compact(lake);
    expect(again.days).toEqual([]);
  });

  it('a visitor erased before a re-archived day is compacted again stays out', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const day = DAYS[0]!;
    const visitorId = archived.sim.chats(day)[1]!['visitor_id'] as string;
    await eraseVisitor({ sink: new LocalFileSink(lake), target: { kind: 'visitor-id', value: visitorId } });
    await archiveAgain(archived.sim, lake, [day], 'backfill-2');
    await compact(lake);
    const left = await rawRows(lake, `SELECT count(*) AS n FROM chats WHERE visitor_id = '${visitorId}'`);
    expect(left).toEqual([{ n: 0 }]);
  });

  it('prune expires compacted day files by the age of the newest file they merged', async () => {
    const lake = await copyLake(archived.out);
    const old = new Date('2026-01-01T00:00:00Z');
    const sink = new LocalFileSink(lake);
    for (const key of (await sink.list(`chats/dt=${DAYS[0]}/`)).filter((k) => k.endsWith('.json.gz'))) {
      await utimes(join(lake, key), old, old);
    }
    await compact(lake, undefined, { smallDayChats: 0 });
    const pruned = await pruneLocalLake({ dir: lake, olderThanDays: 30, now: () => new Date('2026-03-10T00:00:00Z') });
    expect(pruned.files).toEqual([
      expect.stringMatching(new RegExp(`^compacted/chats/dt=${DAYS[0]}/compacted-.*\\.parquet$`)),
    ]);
    expect(await readdir(join(lake, 'compacted', 'chats'))).toEqual(DAYS.slice(1).map((day) => `dt=${day}`));
  });

  it('prune expires the days of a month file one by one, by their last archive, and records them expired', async () => {
    const lake = await copyLake(archived.out);
    // Every day but the first archived again 20 days later: the first day's last archive is the oldest.
    const later = new Date(Date.now() + 20 * 86_400_000);
    const run = await archiveAgain(archived.sim, lake, DAYS.slice(1), 'later', () => later);
    expect(run.complete).toBe(true);
    await compact(lake);
    expect(await chatFiles(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    const before = await rowsPerDay(lake);

    const now = () => new Date(Date.now() + 40 * 86_400_000);
    const dry = await pruneLocalLake({ dir: lake, olderThanDays: 30, now, dryRun: true });
    expect(dry.files).toEqual([]);
    expect(dry.monthFiles).toEqual({ rewritten: [expect.stringMatching(MONTH_FILE)], days: [DAYS[0]] });
    expect(await rowsPerDay(lake)).toEqual(before);

    const out = capture();
    expect(
      await pruneCommand(['--out', lake, '--older-than-days', '30'], {
        stdout: out.stream,
        stderr: capture().stream,
        now,
      }),
    ).toBe(PRUNE_EXIT.ok);
    expect(out.text()).toContain(`rewrote 1 compacted month file(s) without 1 expired day(s): ${DAYS[0]}\n`);
    expect(await rowsPerDay(lake)).toEqual(before.filter((row) => row['dt'] !== DAYS[0]));
    const completeness = (await everyNamedQuery(lake))['day_completeness'] as Array<{ dt: string; status: string }>;
    expect(completeness.map((row) => [row.dt, row.status])).toEqual(
      DAYS.map((day) => [day, day === DAYS[0] ? 'expired' : 'complete']),
    );
    // A month whose every day expired is deleted.
    const all = await pruneLocalLake({
      dir: lake,
      olderThanDays: 1,
      now: () => new Date(Date.now() + 60 * 86_400_000),
    });
    expect(all.files).toEqual([expect.stringMatching(MONTH_FILE)]);
    expect(await chatFiles(lake)).toEqual([]);
  });

  it('npm run compact: compacts a folder lake and says what it did; a bad day is one error line, exit 2', async () => {
    const lake = await copyLake(archived.out);
    const out = capture();
    const err = capture();
    expect(await compactCommand(['--lake', lake, '--to', DAYS[1]!], { stdout: out.stream, stderr: err.stream })).toBe(
      COMPACT_EXIT.ok,
    );
    expect(out.text()).toContain(`${DAYS[0]}  ${archived.sim.chats(DAYS[0]!).length} chats -> the 2026-03 file\n`);
    expect(out.text()).toContain('2026-03  2 files (');
    expect(out.text()).toContain('compacted 2 days: 2 files -> 1 Parquet file\n');
    const bad = capture();
    expect(
      await compactCommand(['--lake', lake, '--from', '2026-02-30'], { stdout: out.stream, stderr: bad.stream }),
    ).toBe(COMPACT_EXIT.usage);
    expect(bad.text()).toMatch(/^error: --from must be a day YYYY-MM-DD, got "2026-02-30"\n/);
  });
});

/** A sink's methods bound to it, to override one. */
function bind(sink: LocalFileSink): LakeSink {
  return {
    location: sink.location,
    put: sink.put.bind(sink),
    putIfAbsent: sink.putIfAbsent.bind(sink),
    get: sink.get.bind(sink),
    list: sink.list.bind(sink),
    delete: sink.delete.bind(sink),
    getVersioned: sink.getVersioned.bind(sink),
    replaceIfUnchanged: sink.replaceIfUnchanged.bind(sink),
    removeLeftovers: sink.removeLeftovers.bind(sink),
  };
}

describe('compacting a v3.6 lake: chats and chat_threads', () => {
  it('both tables are compacted (the raw entry decides), and every named query returns the same rows', async () => {
    const v36 = await startV36Simulator({ from: '2026-05-01', to: '2026-05-02', chatsPerDay: 40, seed: 5 });
    try {
      const lake = await mkdtemp(join(tmpdir(), 'lake-v36-compact-'));
      const archived = await runArchiveCli(
        ['--from', '2026-05-01', '--to', '2026-05-02', '--out', lake, '--api-url', v36.url, '--source', 'v3.6'],
        { LIVECHAT_ACCOUNT_ID: v36.accountId, LIVECHAT_PAT: v36.token },
        { v36Overrides: { pageLimit: 20 } },
      );
      expect(archived.code).toBe(0);
      const before = await everyNamedQuery(lake);
      expect((before['thread_tags_and_summaries'] ?? []).length).toBeGreaterThan(0);

      const out = capture();
      expect(await compactCommand(['--lake', lake], { stdout: out.stream, stderr: capture().stream })).toBe(
        COMPACT_EXIT.ok,
      );

      expect((await chatFiles(lake)).filter((f) => f.startsWith('chats/'))).toEqual([]);
      const threadFiles = (await listFiles(lake)).filter((f) => /^(archives|compacted\/archives)\//.test(f));
      expect(threadFiles).toEqual([
        expect.stringMatching(/^compacted\/archives\/month=2026-05\/compacted-[0-9a-f]{16}\.parquet$/),
      ]);
      expect(await everyNamedQuery(lake)).toEqual(before);
    } finally {
      await v36.close();
    }
  }, 60_000);
});
