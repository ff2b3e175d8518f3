/**
 * Issue 28, item 5: concurrent erases, and an erase racing archive writes, never bring an erased
 * chat back, and never undo another writer's change, on the S3 sink (a versioned bucket whose
 * conditional writes and deletes behave as S3 documents them: test/support/versioned-s3-mock.ts)
 * and on a folder. Each race is forced: a hook runs the other side at the worst moment.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHATS_PREFIX } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { planRun } from '#pipeline/run-planner.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { S3NoncurrentVersions } from '#privacy/object-versions.ts';
import { recordHasIdentifier, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const DAYS = ['2026-03-02', '2026-03-03'];
const BUCKET = 'lake-bucket';
let sim: RunningSimulator;
let bucket: ReturnType<typeof mockVersionedBucket> | undefined;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60, seed: 23 });
});
afterAll(() => sim.close());
afterEach(() => {
  bucket?.restore();
  bucket = undefined;
});

type Chat = Record<string, unknown>;
const visitor = (chat: Chat): VisitorIdentifier => ({ kind: 'visitor-id', value: String(chat['visitor_id']) });
const holds = (records: Chat[], target: VisitorIdentifier) => records.filter((r) => recordHasIdentifier(r, target));
const decode = (body: Uint8Array): Chat[] =>
  gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Chat);

/** Two visitors whose chats share the first page of the first day, and every chat of theirs. */
function twoVisitorsOnOnePage(): [VisitorIdentifier, VisitorIdentifier] {
  const page = sim.chats(DAYS[0]!).slice(0, 25);
  const first = visitor(page[0]!);
  const second = page.map(visitor).find((v) => v.value !== first.value)!;
  return [first, second];
}

/** The chats the lake must hold: every simulator chat but the erased visitors', each once. */
function expectLakeHolds(records: Chat[], erased: VisitorIdentifier[], extra: string[] = []) {
  for (const target of erased) expect(holds(records, target), target.value).toEqual([]);
  const ids = records.map((r) => String(r['id']));
  expect(duplicatesOf(ids)).toEqual([]);
  const expected = DAYS.flatMap((day) => sim.chats(day))
    .filter((chat) => !erased.some((target) => recordHasIdentifier(chat, target)))
    .map((chat) => String(chat['id']));
  expect(ids.sort()).toEqual([...expected, ...extra].sort());
}

async function s3Lake() {
  bucket = mockVersionedBucket(BUCKET);
  const sink = new S3Sink(bucket.client, BUCKET);
  await archiveLocally(sim, DAYS, { sink: () => sink });
  const versions = new S3NoncurrentVersions(bucket.client, BUCKET);
  const current = () =>
    bucket!
      .currentKeys()
      .filter((key) => key.startsWith(CHATS_PREFIX))
      .flatMap((key) => decode(bucket!.current(key)!));
  const allVersions = () =>
    bucket!
      .allVersions()
      .filter((v) => v.key.startsWith(CHATS_PREFIX))
      .flatMap((v) => decode(v.body));
  return { sink, versions, current, allVersions, mock: bucket };
}

const isChatWrite = (command: string, input: Record<string, unknown>) =>
  (command === 'PutObject' || command === 'DeleteObject') && String(input['Key']).startsWith(CHATS_PREFIX);

describe('erase races on S3 (conditional writes as S3 implements them)', () => {
  it('two erases at once: the second one to write a file never puts the first one’s visitor back', async () => {
    const lake = await s3Lake();
    const [first, second] = twoVisitorsOnOnePage();
    let raced = false;
    // Erase 1 has read a page and is about to write it back without visitor 1: erase 2 runs whole first.
    lake.mock.beforeSend(async (command, input) => {
      if (raced || !isChatWrite(command, input)) return;
      raced = true;
      const other = await eraseVisitor({
        sink: new S3Sink(lake.mock.client, BUCKET),
        target: second,
        versions: lake.versions,
      });
      expect(other.complete).toBe(true);
    });
    const result = await eraseVisitor({ sink: lake.sink, target: first, versions: lake.versions });
    expect(raced).toBe(true);
    expect(result.complete).toBe(true);
    expectLakeHolds(lake.current(), [first, second]);
    // No version, current or noncurrent, holds either visitor.
    expect(holds(lake.allVersions(), first)).toEqual([]);
    expect(holds(lake.allVersions(), second)).toEqual([]);
  });

  it('an archive write between an erase’s read and its write is kept, not undone (the lake only grows)', async () => {
    const lake = await s3Lake();
    const [target] = twoVisitorsOnOnePage();
    const added = { id: 'ADDED-BY-A-MERGE', visitor_id: 'S1.someone-else', _run_id: 'merge' };
    let raced = false;
    lake.mock.beforeSend(async (command, input) => {
      if (raced || !isChatWrite(command, input)) return;
      raced = true;
      // Another pass rewrites the same file with one more chat (e.g. a merge by chat id).
      const key = String(input['Key']);
      const before = await decodeNdjsonGzip<Chat>(lake.mock.current(key)!);
      await new S3Sink(lake.mock.client, BUCKET).put(key, await encodeNdjsonGzip([...before, added]), 'ndjson-gzip');
    });
    await eraseVisitor({ sink: lake.sink, target, versions: lake.versions });
    expect(raced).toBe(true);
    expectLakeHolds(lake.current(), [target], [added.id]);
  });

  it('an archive pass that loaded the erasure records before an erase, and writes after it, removes the chat itself', async () => {
    const lake = await s3Lake();
    let target: VisitorIdentifier | undefined;
    // The re-archive (a lookback) has fetched a page and is about to write it: the erase runs whole first.
    lake.mock.beforeSend(async (command, input) => {
      if (target || command !== 'PutObject' || !String(input['Key']).startsWith(CHATS_PREFIX)) return;
      target = visitor(decode(input['Body'] as Uint8Array)[0]!);
      const erase = await eraseVisitor({ sink: new S3Sink(lake.mock.client, BUCKET), target, versions: lake.versions });
      expect(erase.chats).toBeGreaterThan(0);
    });
    const run = await archiveLocally(sim, DAYS, { sink: () => lake.sink });
    expect(target).toBeDefined();
    expectLakeHolds(lake.current(), [target!]);
    // The raced write's first copy is noncurrent now: an erase run again (idempotent) deletes it.
    await eraseVisitor({ sink: lake.sink, target: target!, versions: lake.versions });
    expect(holds(lake.allVersions(), target!)).toEqual([]);
    expect(run.manifest.days.every((day) => day.status === 'complete')).toBe(true);
  });

  it('the worker (queued tasks, duplicates, reordering) racing an erase: the erased visitor is in no current file', async () => {
    const lake = await s3Lake();
    let target: VisitorIdentifier | undefined;
    lake.mock.beforeSend(async (command, input) => {
      if (target || command !== 'PutObject' || !String(input['Key']).startsWith(CHATS_PREFIX)) return;
      target = visitor(decode(input['Body'] as Uint8Array)[0]!);
      await eraseVisitor({ sink: new S3Sink(lake.mock.client, BUCKET), target, versions: lake.versions });
    });
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const { dayTasks } = planRun(
      { from: DAYS[0]!, to: DAYS.at(-1)! },
      {
        settleHours: 2,
        lookbackDays: 1,
        maxRangeDays: 10,
        defaultFilters: {},
        fallbackRunId: 'nightly',
        timeZone: 'UTC',
      },
    );
    await deliverUntilEmpty(
      dayTasks,
      { client, sink: lake.sink, maxAttempts: 3 },
      { seed: 5, shuffle: true, duplicateRate: 0.3 },
    );
    expect(target).toBeDefined();
    expectLakeHolds(lake.current(), [target!]);
  });
});

async function localLake() {
  const run = await archiveLocally(sim, DAYS);
  const current = async () => {
    const records: Chat[] = [];
    for (const file of await listFiles(`${run.out}/chats`)) {
      if (file.endsWith('.json.gz')) {
        records.push(...decode(await new LocalFileSink(run.out).get(`chats/${file}`).then((body) => body!)));
      }
    }
    return records;
  };
  return { out: run.out, current };
}

/** A second handle on the folder, as another process has: nothing shared in memory. */
function interleaved(out: string, before: (key: string) => Promise<void>): LakeSink {
  const sink = new LocalFileSink(out);
  return Object.assign(Object.create(sink) as LocalFileSink, {
    put: async (key: string, body: Uint8Array) => {
      if (key.startsWith(CHATS_PREFIX)) await before(key);
      return sink.put(key, body);
    },
    replaceIfUnchanged: async (key: string, version: string, body: Uint8Array | undefined) => {
      if (key.startsWith(CHATS_PREFIX)) await before(key);
      return sink.replaceIfUnchanged(key, version, body);
    },
  });
}

describe('erase races on a folder lake', () => {
  it('two erases at once: neither visitor comes back', async () => {
    const lake = await localLake();
    const [first, second] = twoVisitorsOnOnePage();
    let raced = false;
    const sink = interleaved(lake.out, async () => {
      if (raced) return;
      raced = true;
      await eraseVisitor({ sink: new LocalFileSink(lake.out), target: second });
    });
    await eraseVisitor({ sink, target: first });
    expect(raced).toBe(true);
    expectLakeHolds(await lake.current(), [first, second]);
  });

  it('an archive run racing an erase: the visitor erased mid-run is gone when the run ends, every other chat is there once', async () => {
    const lake = await localLake();
    let target: VisitorIdentifier | undefined;
    const racing = (out: string) => {
      const sink = new LocalFileSink(out);
      return Object.assign(Object.create(sink) as LocalFileSink, {
        put: async (key: string, body: Uint8Array) => {
          if (!target && key.startsWith(CHATS_PREFIX)) {
            target = visitor(decode(body)[0]!);
            await eraseVisitor({ sink: new LocalFileSink(out), target });
          }
          return sink.put(key, body);
        },
      });
    };
    // The second pass over the same folder (a lookback) races the erase.
    await archiveLocally(sim, DAYS, { sink: () => racing(lake.out) });
    expect(target).toBeDefined();
    expectLakeHolds(await lake.current(), [target!]);
  });
});
