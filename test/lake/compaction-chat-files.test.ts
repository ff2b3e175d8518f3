import { mkdtemp, readFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMPACT_EXIT, compactCommand, keepNewestAge } from '#cli/compact-command.ts';
import { compactLake } from '#lake/compaction.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { buildReportData } from '#report/build-report.ts';
import { totalFiles } from '#shared/file-refs.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { capture, runArchiveCli } from '#test/support/cli-runner.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveAgain, archiveLocally, useArchivedLake } from '#test/support/local-archive.ts';

/** chat_files in the compacted tier (docs/compaction.md): compacted with its day, the same answers. */
const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
const archived = useArchivedLake(
  DAYS,
  {
    chatsPerDay: (day) => (day.endsWith('4') ? 140 : 70),
    seed: 11,
  },
  { attachments: true },
);

const compact = (dir: string, bounds: { smallDayChats?: number } = {}) => {
  const sink = new LocalFileSink(dir);
  return compactLake({
    sink,
    tables: V2_SOURCE.mergedTables,
    erasures: () => ErasedVisitors.load(sink),
    keepAge: (written, inputs) => keepNewestAge(dir, written, inputs),
    ...bounds,
  });
};

async function query(dir: string, sql: string) {
  const lake = await openLocalLake(dir);
  try {
    return await lake.query(sql);
  } finally {
    await lake.close();
  }
}

/** The named queries that read chat_files, over the whole lake. */
async function fileQueries(dir: string): Promise<Record<string, unknown[]>> {
  const lake = await openLocalLake(dir);
  try {
    const rows: Record<string, unknown[]> = {};
    for (const named of NAMED_QUERIES.filter((q) => q.render(DUCKDB, ALL_DAYS).includes('chat_files'))) {
      rows[named.name] = await lake.runNamed(named.name, ALL_DAYS);
    }
    return rows;
  } finally {
    await lake.close();
  }
}

/** Every chat_files row (each column, typed), in a fixed order. */
const fileRows = (dir: string) => query(dir, 'SELECT * FROM chat_files ORDER BY dt, coalesce(thread_id, chat_id), url');
/** The view's column types. */
const fileTypes = (dir: string) => query(dir, 'SELECT column_name, column_type FROM (DESCRIBE chat_files)');

const fileObjects = async (dir: string) =>
  (await listFiles(dir)).filter((f) => /^(chat-files|compacted\/chat-files)\//.test(f));
const MONTH_FILE = /^compacted\/chat-files\/month=2026-03\/compacted-[0-9a-f]{16}\.parquet$/;

describe('chat_files compacted with its day (local, DuckDB)', () => {
  it('one month file, no row objects left; the same rows, columns and types; files_per_day, files_by_type and the report unchanged', async () => {
    const lake = await copyLake(archived.out);
    const rowsBefore = await fileRows(lake);
    expect(rowsBefore.length).toBeGreaterThan(20);
    expect(new Set(rowsBefore.map((row) => row['status']))).toContain('stored');
    const objectsBefore = await fileObjects(lake);
    expect(objectsBefore).toHaveLength(rowsBefore.length);
    const named = await fileQueries(lake);
    expect(Object.keys(named).sort()).toEqual(['files_by_type', 'files_per_day']);
    const typesBefore = await fileTypes(lake);
    const report = { lakeDir: lake, outDir: lake, now: () => new Date('2026-03-10T00:00:00Z') };
    const reportBefore = await buildReportData(report);
    expect(reportBefore.files).toHaveLength(DAYS.length);

    await compact(lake);

    expect(await fileObjects(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    expect(await fileRows(lake)).toEqual(rowsBefore);
    expect(await fileTypes(lake)).toEqual(typesBefore);
    expect(await fileQueries(lake)).toEqual(named);
    expect(await buildReportData(report)).toEqual(reportBefore);
    // The stored line of each row is kept verbatim.
    const [month] = await fileObjects(lake);
    const raw = await query(lake, `SELECT _raw_json AS line FROM read_parquet('${join(lake, month!)}')`);
    const lines = await Promise.all(objectsBefore.map((key) => readFile(join(archived.out, key), 'utf8')));
    expect(raw.map((row) => String(row['line'])).sort()).toEqual(lines.map((line) => line.trim()).sort());
    // Compacting again changes nothing.
    expect((await compact(lake)).days).toEqual([]);
    expect(await fileObjects(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
  });

  it('files_per_day and files_by_type open only the month files of their days’ months (the view’s month, their partition)', async () => {
    // Two months, a month file each.
    const twoMonths = await startSimulator({ from: '2026-03-31', to: '2026-04-01', chatsPerDay: 60, seed: 4 });
    try {
      const { out: lake } = await archiveLocally(twoMonths, ['2026-03-31', '2026-04-01'], { attachments: true });
      await compact(lake);
      expect((await fileObjects(lake)).map((f) => f.split('/')[2])).toEqual(['month=2026-03', 'month=2026-04']);
      const local = await openLocalLake(lake);
      try {
        const opened: number[] = [];
        for (const named of NAMED_QUERIES.filter((q) => q.render(DUCKDB, ALL_DAYS).includes('chat_files'))) {
          const sql = named.render(DUCKDB, { from: '2026-04-01', to: '2026-04-01' });
          const [row] = await local.query<{ explain_value: string }>(`EXPLAIN (ANALYZE, FORMAT json) ${sql}`);
          type Node = { operator_name?: string; extra_info?: Record<string, unknown>; children?: Node[] };
          const walk = (node: Node): number =>
            (node.operator_name === 'READ_PARQUET' && String(node.extra_info?.['Filename(s)']).includes('chat-files')
              ? Number(node.extra_info?.['Total Files Read'])
              : 0) + (node.children ?? []).reduce((sum, child) => sum + walk(child), 0);
          opened.push(walk(JSON.parse(row!.explain_value) as Node));
        }
        expect(opened).toEqual([1, 1]);
      } finally {
        await local.close();
      }
    } finally {
      await twoMonths.close();
    }
  });

  it('a busy day’s rows get a file of their own beside its chats; the others share the month file', async () => {
    const lake = await copyLake(archived.out);
    const before = await fileQueries(lake);
    const busy = DAYS.find((day) => archived.sim.chats(day).length > 100)!;
    await compact(lake, { smallDayChats: 100 });
    expect(await fileObjects(lake)).toEqual([
      expect.stringMatching(new RegExp(`^compacted/chat-files/dt=${busy}/compacted-[0-9a-f]{16}\\.parquet$`)),
      expect.stringMatching(MONTH_FILE),
    ]);
    expect(await fileQueries(lake)).toEqual(before);
  });

  it('a crash between write and delete (the new file beside the old inputs) still shows each file once', async () => {
    const lake = await copyLake(archived.out);
    const before = await fileRows(lake);
    await compact(lake);
    const [month] = await fileObjects(lake);
    // Another compacted copy (an older month file not deleted yet) and every JSON row object back.
    const sink = new LocalFileSink(lake);
    await sink.put(
      month!.replace(/compacted-[0-9a-f]+/, 'compacted-0000000000000000'),
      (await sink.get(month!))!,
      'parquet',
    );
    for (const key of (await fileObjects(archived.out)).filter((k) => k.startsWith('chat-files/'))) {
      await sink.put(key, await readFile(join(archived.out, key)), 'json');
    }
    expect(await fileRows(lake)).toEqual(before);
    await compact(lake);
    expect(await fileObjects(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    expect(await fileRows(lake)).toEqual(before);
  });

  it('a re-archive of a compacted day with new chats: the new files once, before and after compacting again; a stored row is never replaced by a later failed one', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const day = DAYS[1]!;
    const countOf = async () =>
      ((await fileQueries(lake))['files_per_day'] as Array<{ dt: string; files: number; stored: number }>).find(
        (row) => row.dt === day,
      );
    const filesBefore = await countOf();
    const added = archived.sim.addChats(day, 30, 'random');
    const run = await archiveAgain(archived.sim, lake, [day], 'backfill-files', undefined, true);
    expect(run.complete).toBe(true);
    const counts = run.days.find((d) => d.day === day)?.files;
    const expected = counts ? totalFiles(counts) : 0;
    expect(expected).toBeGreaterThan(filesBefore!.files);

    // Not compacted yet: the re-archive's JSON rows beside the compacted ones, each file once.
    const perFile = `SELECT dt, coalesce(thread_id, chat_id) AS chat, url, count(*) AS n FROM chat_files GROUP BY ALL HAVING count(*) > 1`;
    expect(await query(lake, perFile)).toEqual([]);
    const during = await countOf();
    expect(during?.files).toBe(expected);
    const newChats = new Set(added.map((chat) => chat.id));
    const newRows = await query(
      lake,
      `SELECT chat_id FROM chat_files WHERE dt = '${day}' AND run_id = 'backfill-files'`,
    );
    expect(newRows.some((row) => newChats.has(String(row['chat_id'])))).toBe(true);

    // A stored file whose host later failed: the stored row stays the one read.
    const sink = new LocalFileSink(lake);
    const [stored] = await query(
      lake,
      `SELECT * FROM chat_files WHERE dt = '${day}' AND status = 'stored' AND chat_id NOT IN (${[...newChats].map((id) => `'${id}'`).join(', ')}) LIMIT 1`,
    );
    const storedRow = { ...stored! };
    delete storedRow['dt'];
    const failedKey = (await sink.list(`chat-files/dt=${day}/`)).find((key) =>
      key.includes(`/${storedRow['chat_id']}.`),
    )!;
    await sink.put(
      failedKey,
      Buffer.from(
        `${JSON.stringify({ ...storedRow, status: 'failed', sha256: null, lake_key: null, detail: 'HTTP 500', fetched_at: '2099-01-01T00:00:00.000Z' })}\n`,
      ),
      'json',
    );
    const storedNow = `SELECT status FROM chat_files WHERE dt = '${day}' AND url = '${String(storedRow['url'])}'`;
    expect(await query(lake, storedNow)).toEqual([{ status: 'stored' }]);

    await compact(lake);
    expect(await fileObjects(lake)).toEqual([expect.stringMatching(MONTH_FILE)]);
    expect(await query(lake, perFile)).toEqual([]);
    expect(await countOf()).toEqual(during);
    expect(await query(lake, storedNow)).toEqual([{ status: 'stored' }]);
  });

  it('erase after compaction removes the visitor’s file rows from the compacted file, and their stored bytes', async () => {
    const lake = await copyLake(archived.out);
    await compact(lake);
    const [withFile] = await query(
      lake,
      "SELECT chat_id, dt FROM chat_files WHERE status = 'stored' ORDER BY dt, chat_id LIMIT 1",
    );
    const chatId = String(withFile!['chat_id']);
    const visitorId = String(archived.sim.allChats().find((chat) => chat.id === chatId)!['visitor_id']);
    const theirs = new Set(
      archived.sim
        .allChats()
        .filter((chat) => chat['visitor_id'] === visitorId)
        .map((chat) => chat.id),
    );
    const rowsOfVisitor = `SELECT count(*) AS n FROM chat_files WHERE chat_id IN (${[...theirs].map((id) => `'${id}'`).join(', ')})`;
    const had = Number((await query(lake, rowsOfVisitor))[0]?.['n']);
    expect(had).toBeGreaterThan(0);
    const rowsBefore = (await fileRows(lake)).length;

    const result = await eraseVisitor({
      sink: new LocalFileSink(lake),
      target: { kind: 'visitor-id', value: visitorId },
    });
    expect(result.attachments).toBeGreaterThanOrEqual(had);
    expect(await query(lake, rowsOfVisitor)).toEqual([{ n: 0 }]);
    expect((await fileRows(lake)).length).toBe(rowsBefore - had);
    const [month] = await fileObjects(lake);
    const raw = await query(
      lake,
      `SELECT count(*) AS n FROM read_parquet('${join(lake, month!)}') WHERE _raw_json LIKE '%${chatId}%'`,
    );
    expect(raw).toEqual([{ n: 0 }]);
    expect((await listFiles(lake)).filter((f) => f.startsWith('files/') && f.includes(chatId))).toEqual([]);
    // Compacting again keeps them out.
    expect((await compact(lake)).days).toEqual([]);
    expect(await query(lake, rowsOfVisitor)).toEqual([{ n: 0 }]);
  });

  it('prune expires compacted chat_files with their day: a day file with its chats, a month file’s days one by one', async () => {
    const lake = await copyLake(archived.out);
    // Every day but the first archived again 20 days later, its files fetched again then (their row objects gone).
    const later = new Date(Date.now() + 20 * 86_400_000);
    const sink = new LocalFileSink(lake);
    for (const day of DAYS.slice(1)) await sink.delete(await sink.list(`chat-files/dt=${day}/`));
    expect((await archiveAgain(archived.sim, lake, DAYS.slice(1), 'later', () => later, true)).complete).toBe(true);
    await compact(lake);
    const days = async () => (await query(lake, 'SELECT DISTINCT dt FROM chat_files ORDER BY dt')).map((r) => r['dt']);
    expect(await days()).toEqual(DAYS);
    const pruned = await pruneLocalLake({
      dir: lake,
      olderThanDays: 30,
      now: () => new Date(Date.now() + 40 * 86_400_000),
    });
    expect(pruned.monthFiles.days).toEqual([DAYS[0]]);
    expect(pruned.monthFiles.rewritten).toContainEqual(expect.stringMatching(MONTH_FILE));
    expect(await days()).toEqual(DAYS.slice(1));
    const all = await pruneLocalLake({
      dir: lake,
      olderThanDays: 1,
      now: () => new Date(Date.now() + 60 * 86_400_000),
    });
    expect(all.files).toContainEqual(expect.stringMatching(MONTH_FILE));
    expect(await fileObjects(lake)).toEqual([]);

    // Day files: each expires with its day's chats (the newest input's age).
    const perDay = await copyLake(archived.out);
    await compact(perDay, { smallDayChats: 0 });
    const old = new Date('2026-01-01T00:00:00Z');
    for (const key of (await listFiles(perDay)).filter(
      (f) => f.includes(`dt=${DAYS[0]}/`) && f.startsWith('compacted/'),
    )) {
      await utimes(join(perDay, key), old, old);
    }
    const prunedDays = await pruneLocalLake({
      dir: perDay,
      olderThanDays: 30,
      now: () => new Date('2026-03-10T00:00:00Z'),
    });
    expect(prunedDays.files).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^compacted/chat-files/dt=${DAYS[0]}/`))]),
    );
    expect((await query(perDay, 'SELECT DISTINCT dt FROM chat_files ORDER BY dt')).map((r) => r['dt'])).toEqual(
      DAYS.slice(1),
    );
  });
});

describe('chat_files of a v3.6 lake (rows keyed by thread)', () => {
  it('compacted with the threads: the same rows and answers, no row objects left', async () => {
    const v36 = await startV36Simulator({ from: '2026-05-01', to: '2026-05-02', chatsPerDay: 60, seed: 5 });
    try {
      const lake = await mkdtemp(join(tmpdir(), 'lake-v36-files-'));
      const archived = await runArchiveCli(
        [
          ...['--from', '2026-05-01', '--to', '2026-05-02', '--out', lake, '--api-url', v36.url, '--source', 'v3.6'],
          ...['--attachment-hosts', '127.0.0.1'],
        ],
        { LIVECHAT_ACCOUNT_ID: v36.accountId, LIVECHAT_PAT: v36.token },
      );
      expect(archived.code).toBe(0);
      const rows = await fileRows(lake);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row['thread_id'] !== null)).toBe(true);
      const named = await fileQueries(lake);
      expect(await compactCommand(['--lake', lake], { stdout: capture().stream, stderr: capture().stream })).toBe(
        COMPACT_EXIT.ok,
      );
      expect(await fileObjects(lake)).toEqual([
        expect.stringMatching(/^compacted\/chat-files\/month=2026-05\/compacted-[0-9a-f]{16}\.parquet$/),
      ]);
      expect(await fileRows(lake)).toEqual(rows);
      expect(await fileQueries(lake)).toEqual(named);
    } finally {
      await v36.close();
    }
  }, 60_000);
});
