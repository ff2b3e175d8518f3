import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dayMergeKey, PASS_RECORD_PREFIXES } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { chatTask } from '#shared/archive-task.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { archiveChat } from '#sources/v36/chat-archiver.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

/**
 * Two late `chat_deactivated` deliveries of one settled day, merged at the same moment (issue 29):
 * the first merge has read the day (the settled file and its own thread) and holds before writing;
 * the second delivery's thread is written, read with the day and merged; then both write, swap and
 * delete. Before the day's merge record (day-consolidation.ts, commitMerge), both merges' outputs
 * survived: every thread the first had read stood twice until the day was settled again.
 */
const DAY = '2026-05-01';
let sim: RunningV36Simulator | undefined;
const restores: Array<() => void> = [];

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  for (const restore of restores.splice(0)) restore();
});

/** Holds the first `count` writers of a settled file until all of them have arrived. */
function settledWriteBarrier(sink: LakeSink, count: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  let firstArrived!: () => void;
  const first = new Promise<void>((resolve) => (firstArrived = resolve));
  const held: LakeSink = Object.create(sink) as LakeSink;
  held.put = async (key, body, type) => {
    if (/\/settled-[0-9a-f]+-part-\d+\.json\.gz$/.test(key) && arrived < count) {
      arrived += 1;
      firstArrived();
      if (arrived === count) release();
      await all;
    }
    return sink.put(key, body, type);
  };
  return { sink: held, first };
}

async function archivedDay(): Promise<{ out: string; threads: string[] }> {
  sim = await startV36Simulator({ from: DAY, to: DAY, seed: 11, chatsPerDay: 12 });
  const out = await mkdtemp(join(tmpdir(), 'lake-race-'));
  const nightly = await runArchiveCli(
    ['--from', DAY, '--to', DAY, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
    { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
  );
  expect(nightly.code, nightly.stderr).toBe(0);
  return { out, threads: sim.archives(DAY).map((archive) => archive.thread.id) };
}

/** Every thread id of the day's table, one per stored row. */
async function rowIds(sink: LakeSink, table: 'chats' | 'archives'): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await sink.list(`${table}/dt=${DAY}/`)) {
    if (!key.endsWith('.json.gz')) continue;
    const rows = await decodeNdjsonGzip<Record<string, unknown>>((await sink.get(key))!);
    ids.push(...rows.map((row) => String(table === 'chats' ? row['id'] : (row['thread'] as { id: string }).id)));
  }
  return ids;
}

/** The folder lake `out` copied into a versioned bucket (mock) and an S3 sink over it. */
async function inVersionedBucket(out: string) {
  const bucket = mockVersionedBucket('lake');
  restores.push(bucket.restore);
  const sink = new S3Sink(bucket.client, 'lake');
  for (const file of await listFiles(out)) {
    await sink.put(file, await readFile(join(out, file)), file.endsWith('.json.gz') ? 'ndjson-gzip' : 'json');
  }
  return { bucket, sink };
}

async function twoLateDeliveries(sink: LakeSink, threads: readonly string[]) {
  const client = createArchivesClient({
    apiUrl: sim!.url,
    credentials: { kind: 'pat', accountId: sim!.accountId, token: sim!.token },
  });
  const barrier = settledWriteBarrier(sink, 2);
  const [first, second] = [threads[0]!, threads[1]!];
  const deliver = (thread: string, getChat: typeof client.getChat) =>
    archiveChat(chatTask(`C${thread.slice(1)}`, thread, 'UTC', new Date()), { getChat: getChat!, sink: barrier.sink });
  const results = await Promise.all([
    deliver(first, client.getChat),
    // LiveChat's second delivery arrives once the first merge has read the day.
    deliver(second, async (chatId, threadId) => {
      await barrier.first;
      return client.getChat!(chatId, threadId);
    }),
  ]);
  expect(results.map((result) => result.merged)).toEqual([true, true]);
}

describe('two late webhook deliveries of one settled day at the same moment', () => {
  it('leave each thread once in both tables (folder lake)', async () => {
    const { out, threads } = await archivedDay();
    const sink = new LocalFileSink(out);
    await twoLateDeliveries(sink, threads);
    for (const table of ['chats', 'archives'] as const) {
      const ids = await rowIds(sink, table);
      expect(duplicatesOf(ids), table).toEqual([]);
      expect([...ids].sort(), table).toEqual([...threads].sort());
    }
    expect((await listFiles(out)).filter((file) => file.includes('webhook-'))).toEqual([]);
  });

  it('leave each thread once in both tables (S3, conditional writes)', async () => {
    const { out, threads } = await archivedDay();
    const { bucket, sink } = await inVersionedBucket(out);
    await twoLateDeliveries(sink, threads);
    for (const table of ['chats', 'archives'] as const) {
      const ids = await rowIds(sink, table);
      expect(duplicatesOf(ids), table).toEqual([]);
      expect([...ids].sort(), table).toEqual([...threads].sort());
    }
    expect(bucket.currentKeys().filter((key) => key.includes('webhook-'))).toEqual([]);
  });
});

/**
 * The S3 lifecycle rules expire a pass's records and a day's merge record (lib/constructs/
 * lake-bucket.ts) whatever runs at that moment: a late delivery merging the day when its merge
 * record expires is superseded (its If-Match finds a delete marker), reads the day again and
 * commits; every thread stays once.
 */
describe('a late webhook delivery while the pass records expire', () => {
  it('is superseded once, merges again and keeps each thread once (S3)', async () => {
    const { out, threads } = await archivedDay();
    const { bucket, sink } = await inVersionedBucket(out);
    expect(bucket.current(dayMergeKey(DAY))).toBeDefined();
    // The rules expire every record once the delivery's merge has read the day (a delete marker each).
    let expired = 0;
    let mergedWrites = 0;
    bucket.beforeSend(async (command, input) => {
      if (command !== 'PutObject' || !/\/settled-[0-9a-f]+-part-\d+\.json\.gz$/.test(String(input['Key']))) return;
      mergedWrites += 1;
      if (expired > 0) return;
      const records = bucket.currentKeys().filter((key) => PASS_RECORD_PREFIXES.some((p) => key.startsWith(p)));
      expired = records.length;
      await sink.delete(records);
    });
    const client = createArchivesClient({
      apiUrl: sim!.url,
      credentials: { kind: 'pat', accountId: sim!.accountId, token: sim!.token },
    });
    const thread = threads[0]!;
    const result = await archiveChat(chatTask(`C${thread.slice(1)}`, thread, 'UTC', new Date()), {
      getChat: client.getChat!,
      sink,
    });
    expect(result.merged).toBe(true);
    expect(expired).toBeGreaterThan(0);
    // Both tables written twice: the first swap found no record, took its output back, merged again.
    expect(mergedWrites).toBe(4);
    for (const table of ['chats', 'archives'] as const) {
      const ids = await rowIds(sink, table);
      expect(duplicatesOf(ids), table).toEqual([]);
      expect([...ids].sort(), table).toEqual([...threads].sort());
    }
    expect(bucket.current(dayMergeKey(DAY))).toBeDefined();
    expect(bucket.currentKeys().filter((key) => key.includes('webhook-'))).toEqual([]);
  });
});
