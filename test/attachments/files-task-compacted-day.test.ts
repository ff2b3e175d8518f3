import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatFileRow } from '#lake/chat-files-table.ts';
import { compactLake } from '#lake/compaction.ts';
import { CHAT_FILES_PREFIX, compactedTablePrefix, FILES_PREFIX, partitionPrefix } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { archiveFiles, filesTasksOf } from '#pipeline/archive-files.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { readCompactedRecords } from '#privacy/rewrite-parquet-without.ts';
import { dayTask } from '#shared/archive-task.ts';
import type { FileFetcher } from '#shared/file-refs.ts';
import type { V36Archive } from '#simulator/v36-archives.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import type { SourceInfo } from '#sources/archive-source.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { V36_SOURCE } from '#sources/v36/v36-source-info.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { archiveAgain, archiveLocally, useArchivedLake } from '#test/support/local-archive.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

/**
 * A files task whose day was compacted after it settled (docs/attachments.md): the day's chats live
 * only in Parquet, and a visitor is erased before the task writes. The task must remove the erased
 * visitor's files it wrote, and keep every other chat's stored files (the lake only grows).
 */
const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04'];
const DAY = DAYS[1]!;
const archived = useArchivedLake(DAYS, { chatsPerDay: 150, seed: 23 }, { attachments: true });

const fetcher = () => safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 });

/** What a test needs of an archived source: its tables, its served records and their visitors. */
interface Served {
  source: SourceInfo;
  /** The records the source served for a day (v2 chats, v3.6 list_archives entries). */
  records(day: string): Record<string, unknown>[];
  /** The visitor of a stored file's owner (v2 chat id, v3.6 thread id), and every owner of a visitor. */
  visitorOf(owner: string): string;
  ownersOf(visitor: string): Set<string>;
}

const V2: Served = {
  source: V2_SOURCE,
  records: (day) => archived.sim.chats(day),
  visitorOf: (owner) => String(archived.sim.allChats().find((chat) => chat.id === owner)!['visitor_id']),
  ownersOf: (visitor) =>
    new Set(
      archived.sim
        .allChats()
        .filter((chat) => chat['visitor_id'] === visitor)
        .map((chat) => chat.id),
    ),
};

/** The files task the day's settling queued before the compaction and the erase (no erasure known then). */
function settledTask(served: Served = V2) {
  const refs = served.records(DAY).flatMap((record) => served.source.attachments.refsOf(record));
  const [task] = filesTasksOf(dayTask('before-compaction', DAY, 1, {}, 'UTC'), 'p1', refs, 0, 50);
  expect(task!.files).toHaveLength(refs.length);
  return task!;
}

const ownerOfRow = (row: ChatFileRow) => row.thread_id ?? row.chat_id;

/** The day's compacted chat_files rows (day and month files), read with the compaction's own reader. */
async function compactedFileRows(sink: LakeSink): Promise<ChatFileRow[]> {
  const rows: ChatFileRow[] = [];
  for (const key of await sink.list(compactedTablePrefix(CHAT_FILES_PREFIX))) {
    if (!key.endsWith('.parquet')) continue;
    for (const { record, day } of await readCompactedRecords(key, (await sink.get(key))!)) {
      if ((day ?? /dt=([\d-]+)\//.exec(key)?.[1]) === DAY) rows.push(record as unknown as ChatFileRow);
    }
  }
  return rows;
}

/**
 * Compacts the lake (month files, or a file per day), then erases the visitor of a chat of DAY that
 * has a stored file and another stored file's chat of another visitor: what the day must keep.
 */
async function compactThenErase(sink: LakeSink, smallDayChats?: number, served: Served = V2) {
  await compactLake({
    sink,
    tables: served.source.mergedTables,
    erasures: () => ErasedVisitors.load(sink),
    ...(smallDayChats !== undefined ? { smallDayChats } : {}),
  });
  const json = await sink.list(partitionPrefix(DAY, served.source.attachments.prefix));
  expect(json.filter((key) => key.endsWith('.json.gz'))).toEqual([]);
  const stored = (await compactedFileRows(sink)).filter((row) => row.status === 'stored');
  const erasedVisitor = served.visitorOf(ownerOfRow(stored[0]!));
  const erasedChats = served.ownersOf(erasedVisitor);
  const kept = stored.filter((row) => !erasedChats.has(ownerOfRow(row)));
  expect(kept.length).toBeGreaterThan(3);
  await eraseVisitor({ sink, target: { kind: 'visitor-id', value: erasedVisitor } });
  return { kept, erasedChats };
}

async function expectKeptAndErased(sink: LakeSink, kept: readonly ChatFileRow[], erasedChats: ReadonlySet<string>) {
  const files = await sink.list(`${FILES_PREFIX}dt=${DAY}/`);
  // Every file a chat the day still holds had stored is still there, and still has its row.
  expect(kept.filter((row) => !files.includes(row.lake_key!)).map((row) => row.lake_key)).toEqual([]);
  expect((await compactedFileRows(sink)).filter((row) => row.status === 'stored')).toHaveLength(kept.length);
  // The erased visitor's files (fetched again by the task, after the erase) are gone, rows and bytes.
  const theirs = (key: string) => [...erasedChats].some((chat) => key.includes(`/${chat}`));
  expect(files.filter(theirs)).toEqual([]);
  expect((await sink.list(`${CHAT_FILES_PREFIX}dt=${DAY}/`)).filter(theirs)).toEqual([]);
}

describe('a files task over a day compacted since it settled, with a visitor erased meanwhile', () => {
  it.each([
    ['month file', undefined],
    ['day file', 0],
  ])('folder lake, %s: the erased visitor’s files go, every other stored file stays', async (_unit, smallDayChats) => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const { kept, erasedChats } = await compactThenErase(sink, smallDayChats);

    const result = await archiveFiles(settledTask(), {
      sink,
      now: () => new Date(),
      files: { fetcher: fetcher(), readCompacted: readCompactedRecords },
      source: V2_SOURCE,
    });
    expect(result.erased).toBeGreaterThan(0);
    expect(result.unverified).toBeUndefined();
    await expectKeptAndErased(sink, kept, erasedChats);
  });

  describe('S3 lake (the CLI archiving into a bucket)', () => {
    let bucket: ReturnType<typeof mockVersionedBucket> | undefined;
    afterEach(() => bucket?.restore());

    it('month file: the erased visitor’s files go, every other stored file stays', async () => {
      bucket = mockVersionedBucket('lake-bucket');
      const sink = new S3Sink(bucket.client, 'lake-bucket', 'archive');
      const sim = archived.sim;
      const run = await archiveLocally(sim, DAYS, { sink: () => sink, attachments: true });
      expect(run.manifest.complete).toBe(true);
      const { kept, erasedChats } = await compactThenErase(sink);

      const result = await archiveFiles(settledTask(), {
        sink,
        now: () => new Date(),
        files: { fetcher: fetcher(), readCompacted: readCompactedRecords },
        source: V2_SOURCE,
      });
      expect(result.erased).toBeGreaterThan(0);
      await expectKeptAndErased(sink, kept, erasedChats);
    });
  });

  it('without a Parquet reader (the worker Lambda): files it cannot judge are kept and counted, none of a kept chat removed', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const { kept } = await compactThenErase(sink);

    const result = await archiveFiles(settledTask(), {
      sink,
      now: () => new Date(),
      files: { fetcher: fetcher() },
      source: V2_SOURCE,
    });
    expect(result.erased).toBe(0);
    expect(result.unverified).toBeGreaterThan(0);
    expect(reportOf(result)).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('the worker cannot read Parquet'),
      counts: { FilesUnverified: result.unverified },
    });
    const files = await sink.list(`${FILES_PREFIX}dt=${DAY}/`);
    expect(kept.filter((row) => !files.includes(row.lake_key!)).map((row) => row.lake_key)).toEqual([]);
  });

  it('without a Parquet reader, an erase under way (its record written, the re-archived JSON not rewritten yet): the erased visitor’s files go, the others stay', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    await compactLake({ sink, tables: V2_SOURCE.mergedTables, erasures: () => ErasedVisitors.load(sink) });
    // A backfill of the compacted day (chats only): its JSON holds the day's chats again.
    expect((await archiveAgain(archived.sim, lake, [DAY], 'backfill')).complete).toBe(true);
    const stored = (await compactedFileRows(sink)).filter((row) => row.status === 'stored');
    const erasedChats = V2.ownersOf(V2.visitorOf(ownerOfRow(stored[0]!)));
    const kept = stored.filter((row) => !erasedChats.has(ownerOfRow(row)));
    const stop = new AbortController();
    stop.abort();
    const erase = await eraseVisitor({
      sink,
      target: { kind: 'visitor-id', value: V2.visitorOf(ownerOfRow(stored[0]!)) },
      signal: stop.signal,
    });
    expect(erase.complete).toBe(false);

    const result = await archiveFiles(settledTask(), {
      sink,
      now: () => new Date(),
      files: { fetcher: fetcher() },
      source: V2_SOURCE,
    });
    expect(result.erased).toBeGreaterThan(0);
    expect(result.unverified).toBeUndefined();
    const files = await sink.list(`${FILES_PREFIX}dt=${DAY}/`);
    expect(kept.filter((row) => !files.includes(row.lake_key!)).map((row) => row.lake_key)).toEqual([]);
    expect(files.filter((key) => [...erasedChats].some((chat) => key.includes(`/${chat}/`)))).toEqual([]);
  });

  it('a v3.6 lake (files of threads, the attachments table chat_threads): the same', async () => {
    const v36 = await startV36Simulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: 150, seed: 23 });
    try {
      const lake = await mkdtemp(join(tmpdir(), 'lake-v36-files-task-'));
      const cli = await runArchiveCli(
        [
          ...['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--out', lake, '--api-url', v36.url, '--source', 'v3.6'],
          ...['--attachment-hosts', '127.0.0.1'],
        ],
        { LIVECHAT_ACCOUNT_ID: v36.accountId, LIVECHAT_PAT: v36.token },
      );
      expect(cli.code).toBe(0);
      const customerOf = (archive: V36Archive) =>
        (archive['users'] as Array<{ type: string; id: string }>).find((user) => user.type === 'customer')!.id;
      const all = DAYS.flatMap((day) => v36.archives(day));
      const served: Served = {
        source: V36_SOURCE,
        records: (day) => v36.archives(day),
        visitorOf: (owner) => customerOf(all.find((archive) => archive.thread.id === owner)!),
        ownersOf: (visitor) =>
          new Set(all.filter((archive) => customerOf(archive) === visitor).map((archive) => archive.thread.id)),
      };
      const sink = new LocalFileSink(lake);
      const { kept, erasedChats } = await compactThenErase(sink, undefined, served);

      const result = await archiveFiles(settledTask(served), {
        sink,
        now: () => new Date(),
        files: { fetcher: fetcher(), readCompacted: readCompactedRecords },
        source: V36_SOURCE,
      });
      expect(result.erased).toBeGreaterThan(0);
      await expectKeptAndErased(sink, kept, erasedChats);
    } finally {
      await v36.close();
    }
  }, 60_000);
});

/** `sink` with some of its methods replaced (the others bound to it). */
function hooked(sink: LakeSink, hooks: Partial<Pick<LakeSink, 'get' | 'list' | 'delete'>>): LakeSink {
  return new Proxy(sink, {
    get(target, property) {
      const hook = (hooks as Record<string | symbol, unknown>)[property];
      if (hook) return hook;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The host no longer serves any file (LiveChat's retention): a file deleted by mistake cannot come back. */
const goneEverywhere: FileFetcher = { fetch: async () => ({ status: 'gone', httpStatus: 404, detail: 'HTTP 404' }) };

describe('crash points and races of a files task over a compacted day', () => {
  it.each([
    ['after its writes, reading the erasure records', 'list'],
    ['at its first delete', 'delete'],
  ] as const)(
    'killed %s, delivered again while the host answers 404 for every file: every kept file stays, the erased visitor’s go',
    async (_point, method) => {
      const lake = await copyLake(archived.out);
      const sink = new LocalFileSink(lake);
      const { kept, erasedChats } = await compactThenErase(sink);
      const task = settledTask();
      const killed = new Error('killed');
      const dying = hooked(
        sink,
        method === 'delete'
          ? { delete: async () => Promise.reject(killed) }
          : {
              list: async (prefix) =>
                prefix.startsWith('manifests/erasures/') ? Promise.reject(killed) : sink.list(prefix),
            },
      );
      const deps = { now: () => new Date(), source: V2_SOURCE };
      await expect(
        archiveFiles(task, {
          ...deps,
          sink: dying,
          files: { fetcher: fetcher(), readCompacted: readCompactedRecords },
        }),
      ).rejects.toBe(killed);
      // What the first delivery wrote for the erased visitor is there: the next delivery must remove it.
      const theirs = (key: string) => [...erasedChats].some((chat) => key.includes(`/${chat}`));
      expect((await sink.list(`${FILES_PREFIX}dt=${DAY}/`)).filter(theirs).length).toBeGreaterThan(0);

      const again = await archiveFiles(task, {
        ...deps,
        sink,
        files: { fetcher: goneEverywhere, readCompacted: readCompactedRecords },
      });
      expect(again.counts.downloaded).toBe(0);
      expect(again.erased).toBeGreaterThan(0);
      await expectKeptAndErased(sink, kept, erasedChats);
    },
  );

  it('a compaction replacing the month file while the task reads it: the task reads the day again, and keeps every kept file', async () => {
    const lake = await copyLake(archived.out);
    const sink = new LocalFileSink(lake);
    const { kept, erasedChats } = await compactThenErase(sink);
    let replaced = '';
    const racing = hooked(sink, {
      get: async (key) => {
        if (!replaced && key.startsWith('compacted/chats/') && key.endsWith('.parquet')) {
          // Write before delete, as compaction does: the same rows under a new name, then the old file goes.
          replaced = key.replace(/compacted-[0-9a-f]{16}/, 'compacted-0000000000000000');
          await sink.put(replaced, (await sink.get(key))!, 'parquet');
          await sink.delete([key]);
        }
        return sink.get(key);
      },
    });
    const result = await archiveFiles(settledTask(), {
      sink: racing,
      now: () => new Date(),
      files: { fetcher: goneEverywhere, readCompacted: readCompactedRecords },
      source: V2_SOURCE,
    });
    expect(replaced).toMatch(/^compacted\/chats\/month=2026-03\/compacted-0{16}\.parquet$/);
    expect(result.unverified).toBeUndefined();
    await expectKeptAndErased(sink, kept, erasedChats);
  });
});
