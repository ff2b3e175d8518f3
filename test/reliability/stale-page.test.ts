import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import type { QueuedTaskResult } from '#pipeline/queued-task-result.ts';
import { type ArchiveTask, dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient, type LivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';

/**
 * The AWS stale-page window, replayed step by step: a page task of attempt 1 fetches its page,
 * the day drifts, attempt 2 re-archives the whole day, and only then does the old task write.
 * Its page is a consistent page of the old list (its `total` still matches its plan), so the
 * drift checks cannot see it; written, it would replace attempt 2's page and lose chats.
 */
const DAY = '2026-07-01';
const RUN = 'backfill-2026';
const aws = lambdaAwsMocks();
let sim: RunningSimulator;

beforeEach(async () => {
  sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 60, seed: 5 });
  aws.reset({});
});
afterEach(async () => sim.close());

/** A client whose first fetch of `page` answers at once but hands the answer back only on release(). */
function holdingClient(page: number) {
  const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
  let fetched!: () => void;
  let release!: () => void;
  const whenFetched = new Promise<void>((resolve) => {
    fetched = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let held = false;
  const holding: LivechatClient = {
    async listChats(query) {
      const list = await client.listChats(query);
      if (query.page === page && !held) {
        held = true;
        fetched();
        await released;
      }
      return list;
    },
  };
  return { client: holding, whenFetched, release };
}

async function chatIdsIn(sink: LakeSink): Promise<string[]> {
  const ids: string[] = [];
  for (const key of await sink.list(`chats/dt=${DAY}/`)) {
    ids.push(...(await decodeNdjsonGzip<{ id: string }>((await sink.get(key))!)).map((chat) => chat.id));
  }
  return ids;
}

const sinks: Array<[string, () => Promise<LakeSink>]> = [
  ['local folder', async () => new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-')))],
  ['S3 (conditional writes)', async () => new S3Sink(new S3Client({ region: 'eu-west-1' }), 'lake-bucket')],
];

/** Hides drift claims from reads: as if the claim landed just after the stale task checked for it. */
function claimsUnseen(sink: LakeSink): LakeSink {
  return {
    location: sink.location,
    put: (...args) => sink.put(...args),
    putIfAbsent: (...args) => sink.putIfAbsent(...args),
    get: async (key) => (key.includes('/replan-') ? undefined : sink.get(key)),
    list: (prefix) => sink.list(prefix),
    delete: (keys) => sink.delete(keys),
    ...(sink.putUnlessSuperseded ? { putUnlessSuperseded: (...args) => sink.putUnlessSuperseded!(...args) } : {}),
  };
}

describe('a page of an older attempt never replaces a newer attempt’s file (backfills have no next night)', () => {
  const cases = sinks.flatMap(([name, make]) => [
    [`${name}: the stale task sees the drift claim and stops`, make, false] as const,
    [`${name}: the claim not yet visible, the conditional write still refuses`, make, true] as const,
  ]);

  it.each(cases)('%s', async (_name, makeSink, hideClaims) => {
    const real = await makeSink();
    const sink = hideClaims ? claimsUnseen(real) : real;
    const { client, whenFetched, release } = holdingClient(3);
    const queued: ArchiveTask[] = [];
    const deps = {
      source: v2Source(client),
      sink,
      sender: { send: async (tasks: readonly ArchiveTask[]) => void queued.push(...tasks) },
      maxAttempts: 5,
    };
    const take = (kind: string, attempt: number, page?: number) => {
      const index = queued.findIndex(
        (task) =>
          task.kind === kind &&
          task.attempt === attempt &&
          (page === undefined || ('page' in task && task.page === page)),
      );
      expect(index, `${kind} ${attempt} ${page ?? ''} queued`).toBeGreaterThanOrEqual(0);
      return queued.splice(index, 1)[0]!;
    };

    await handleQueuedTask(dayTask(RUN, DAY, 1, {}, 'UTC'), deps); // page 1 written, pages 2 and 3 queued
    const stale = handleQueuedTask(take('page', 1, 3), deps); // fetches page 3 of 60 chats…
    await whenFetched;
    sim.addChats(DAY, 3); // …then three chats end: every page shifts by three
    const drift = await handleQueuedTask(take('page', 1, 2), deps);
    expect(drift).toMatchObject({ kind: 'drift', next: 'replanned' });
    await handleQueuedTask(take('day', 2), deps); // attempt 2 plans 63 chats, writes page 1
    const rewritten: QueuedTaskResult[] = [];
    for (const page of [2, 3]) rewritten.push(await handleQueuedTask(take('page', 2, page), deps));
    expect(rewritten.map((result) => result.kind)).toEqual(['page-written', 'page-written']);

    release(); // the old task writes only now
    expect(await stale).toMatchObject({ kind: 'superseded', day: DAY, attempt: 1, page: 3 });

    const ids = await chatIdsIn(real);
    expect(duplicatesOf(ids)).toEqual([]);
    expect(ids.sort()).toEqual(
      sim
        .chats(DAY)
        .map((chat) => chat.id)
        .sort(),
    );
    expect(queued).toEqual([]);
  });

  it('a late redelivered day task of attempt 1 plans and deletes nothing once attempt 2 is claimed', async () => {
    const sink = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-')));
    await sink.putIfAbsent(`manifests/runs/${RUN}/${DAY}/replan-2.json`, Buffer.from('{}'), 'json');
    const client: LivechatClient = {
      listChats: async () => {
        throw new Error('a superseded day task must not call the API');
      },
    };
    const result = await handleQueuedTask(dayTask(RUN, DAY, 1, {}, 'UTC'), {
      source: v2Source(client),
      sink,
      sender: { send: async () => undefined },
      maxAttempts: 5,
    });
    expect(result).toEqual({ kind: 'superseded', day: DAY, attempt: 1 });
  });
});

describe('putUnlessSuperseded', () => {
  it.each(sinks)('%s: keeps the newest attempt of a run, lets another run write', async (_name, makeSink) => {
    const sink = await makeSink();
    const key = `chats/dt=${DAY}/page-00001.json.gz`;
    const put = (runId: string, attempt: number, text: string) =>
      sink.putUnlessSuperseded!(key, Buffer.from(text), 'ndjson-gzip', { runId, attempt });
    expect(await put(RUN, 2, 'attempt 2')).toBe(true);
    expect(await put(RUN, 1, 'attempt 1')).toBe(false);
    expect(Buffer.from((await sink.get(key))!).toString()).toBe('attempt 2');
    expect(await put(RUN, 2, 'attempt 2 again')).toBe(true); // a redelivery of the same task
    expect(await put(RUN, 3, 'attempt 3')).toBe(true);
    expect(await put('nightly', 1, 'another run')).toBe(true);
    expect(Buffer.from((await sink.get(key))!).toString()).toBe('another run');
  });

  it.each(sinks)('%s: two attempts racing for one key end with the newer one', async (_name, makeSink) => {
    const sink = await makeSink();
    const key = `chats/dt=${DAY}/page-00002.json.gz`;
    const results = await Promise.all([
      sink.putUnlessSuperseded!(key, Buffer.from('new'), 'ndjson-gzip', { runId: RUN, attempt: 2 }),
      sink.putUnlessSuperseded!(key, Buffer.from('old'), 'ndjson-gzip', { runId: RUN, attempt: 1 }),
    ]);
    expect(Buffer.from((await sink.get(key))!).toString()).toBe('new');
    expect(results[0]).toBe(true);
  });
});
