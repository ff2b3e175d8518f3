/**
 * Issue 28's findings, one end-to-end test each, written against what both the code before the
 * fixes and after them offer: the queued task handler (the worker Lambda's task path) and the
 * local runner, a folder lake, the simulators, and the lake read as files (every chat file of a
 * day, whatever its name), so each runs unchanged on the commit before its fix. Each failed there
 * (c34e5d7, before "the lake only grows"; the filtered run on 7cc4966, before the filters record)
 * except the local run whose last page failed, which the old code handled too (a regression test).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import { type ArchiveTask, dayTask, decodeTask, encodeTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import { createLivechatClient, type LivechatClient } from '#sources/v2/livechat-client.ts';
import { CHATS_PER_PAGE, type ChatList } from '#sources/v2/livechat-schema.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { type ArchivesClient, createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { chatIdsByDay, duplicatesOf } from '#test/support/lake-reader.ts';

const DAY = '2026-05-12';
let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

async function simulator(options: Partial<Parameters<typeof startSimulator>[0]> = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 60, seed: 2028, ...options });
  closers.push(() => sim.close());
  return sim;
}

const clientOf = (sim: RunningSimulator) =>
  createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5, maxRetryDelayMs: 50 });
const folderLake = async () => new LocalFileSink(await mkdtemp(join(tmpdir(), 'findings-')));

/**
 * The worker's task path with an in-memory queue: a task that throws comes back later (SQS after
 * the visibility timeout); `failSend` fails a SendMessageBatch (the tasks are not queued).
 */
function queue(
  source: ArchiveSource,
  sink: LakeSink,
  failSend: (tasks: readonly ArchiveTask[]) => boolean = () => false,
) {
  const pending: string[] = [];
  const sender = {
    async send(tasks: readonly ArchiveTask[]) {
      if (failSend(tasks)) throw new Error('SendMessageBatch failed');
      pending.push(...tasks.map(encodeTask));
    },
  };
  const deliver = (body: string, through: LakeSink = sink) =>
    handleQueuedTask(decodeTask(body), { source, sink: through, sender, maxAttempts: 5 });
  return {
    pending,
    deliver,
    /** Delivers until the queue is empty, redelivering what failed. */
    async drain(initial: ArchiveTask[] = []) {
      pending.push(...initial.map(encodeTask));
      for (let deliveries = 0; pending.length > 0; deliveries += 1) {
        if (deliveries > 500) throw new Error('the queue does not drain');
        const body = pending.shift()!;
        await deliver(body).catch(() => pending.push(body));
      }
    },
  };
}

async function v36Simulator(chatsPerDay = 40): Promise<RunningV36Simulator> {
  const sim = await startV36Simulator({ from: DAY, to: DAY, chatsPerDay, seed: 2028 });
  closers.push(() => sim.close());
  return sim;
}
const archivesClientOf = (sim: RunningV36Simulator) =>
  createArchivesClient({
    apiUrl: sim.url,
    credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
    baseRetryDelayMs: 5,
  });
/** A local run of one day (the runner the CLI uses). */
const runDay = (runId: string, source: ArchiveSource, sink: LakeSink, filters = {}) =>
  runArchive({ runId, days: [DAY], filters, source, sink, concurrency: 2, redeliveryDelayMs: 5 });
/** Every row of a table's day partition, whatever the files are called. */
async function rowsOf<T>(sink: LakeSink, table: string): Promise<T[]> {
  const rows: T[] = [];
  for (const key of await sink.list(`${table}dt=${DAY}/`))
    if (key.endsWith('.json.gz')) rows.push(...(await decodeNdjsonGzip<T>((await sink.get(key))!)));
  return rows;
}

/** The day holds exactly `expected` chats, each once, across every chat file of its partition. */
async function expectDayHolds(sink: LocalFileSink, expected: readonly string[], day = DAY) {
  const ids = (await chatIdsByDay(sink.location)).get(day) ?? [];
  expect(duplicatesOf(ids), 'chats stored twice').toEqual([]);
  expect([...ids].sort(), 'chats of the day').toEqual([...expected].sort());
}
/** The sink with `before` awaited ahead of every write of a key (any call but a read: plain, conditional, guarded). */
function writesHeldAt(sink: LakeSink, before: (key: string) => Promise<void>): LakeSink {
  const reads = new Set(['get', 'getVersioned', 'list', 'delete', 'removeLeftovers']);
  return new Proxy(sink, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (reads.has(String(property))) return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        await before(key);
        return (value as (...args: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}
const idsOf = (chats: ReadonlyArray<{ id: string }>) => chats.map((chat) => chat.id);

describe('issue 28 findings: the lake only grows, every claim is kept', () => {
  it('a drift re-plan claim whose send failed is sent again when the unit is redelivered', async () => {
    const sim = await simulator({
      faults: { drift: [{ day: DAY, afterRequests: 2, addChats: 2, position: 'newest' }] },
    });
    const sink = await folderLake();
    let failed = 0;
    // The first send of the next attempt's day task fails (after its claim was written).
    const failReplanOnce = (tasks: readonly ArchiveTask[]) => {
      if (failed > 0 || !tasks.some((task) => task.kind === 'day' && task.attempt === 2)) return false;
      failed += 1;
      return true;
    };
    await queue(v2Source(clientOf(sim)), sink, failReplanOnce).drain([dayTask('nightly', DAY, 1, {}, 'UTC')]);
    expect(failed, 'the re-plan send failed once').toBe(1);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });

  it('a re-run with the same run id archives the day again (not superseded by its first pass’s claims)', async () => {
    const sim = await simulator({
      faults: { drift: [{ day: DAY, afterRequests: 2, addChats: 1, position: 'newest' }] },
    });
    const sink = await folderLake();
    await queue(v2Source(clientOf(sim)), sink).drain([dayTask('backfill-1', DAY, 1, {}, 'UTC')]);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
    sim.addChats(DAY, 3, 'newest');
    await queue(v2Source(clientOf(sim)), sink).drain([dayTask('backfill-1', DAY, 1, {}, 'UTC')]);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });

  it('two runs on one day (a nightly run’s page fetched before a chat was added, written after a backfill): the union, each chat once', async () => {
    const sim = await simulator();
    const sink = await folderLake();
    const nightly = queue(v2Source(clientOf(sim)), sink);
    await nightly.deliver(encodeTask(dayTask('nightly', DAY, 1, {}, 'UTC')));
    const lastPage = nightly.pending.find((body) => (decodeTask(body) as { page?: number }).page === 3)!;
    nightly.pending.splice(nightly.pending.indexOf(lastPage), 1);
    await nightly.drain();
    // The nightly run's page 3 is fetched, and held before its write.
    let reached!: () => void;
    const fetched = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    const holding = writesHeldAt(sink, async (key) => {
      if (held || !key.startsWith('chats/')) return;
      held = true;
      reached();
      await released;
    });
    const late = nightly.deliver(lastPage, holding);
    await fetched;
    sim.addChats(DAY, 1, 'newest');
    await queue(v2Source(clientOf(sim)), sink).drain([dayTask('backfill', DAY, 1, {}, 'UTC')]);
    release();
    await late;
    await nightly.drain();
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });

  it('v2 on the queued path: one chat removed and one added between pages, total unchanged, is caught and re-archived', async () => {
    const sim = await simulator();
    const real = clientOf(sim);
    const hidden = new Set<string>();
    let requests = 0;
    // LiveChat as a whole: the day's chats without the hidden ones, paged 25 a page, newest first.
    const client: LivechatClient = {
      async listChats(query) {
        requests += 1;
        const all: ChatList['chats'] = [];
        const first = await real.listChats({ ...query, page: 1 });
        all.push(...first.chats);
        for (let page = 2; page <= first.pages; page += 1)
          all.push(...(await real.listChats({ ...query, page })).chats);
        const visible = all.filter((chat) => !hidden.has(chat.id));
        const answer = {
          chats: visible.slice((query.page - 1) * CHATS_PER_PAGE, query.page * CHATS_PER_PAGE),
          total: visible.length,
          pages: Math.ceil(visible.length / CHATS_PER_PAGE),
        };
        if (requests === 1) {
          // Right after the planning request: the oldest chat goes, a new one comes.
          hidden.add(sim.chats(DAY).at(-1)!.id);
          sim.addChats(DAY, 1, 'newest');
        }
        return answer;
      },
    };
    const sink = await folderLake();
    await queue(v2Source(client), sink).drain([dayTask('nightly', DAY, 1, {}, 'UTC')]);
    const visible = sim.chats(DAY).filter((chat) => !hidden.has(chat.id));
    expect(visible).toHaveLength(60);
    await expectDayHolds(sink, idsOf(visible));
  });

  it.each([
    ['its request failed', 'request'],
    ['its write failed', 'write'],
  ] as const)(
    'a local run whose last page failed (%s): the next run archives the day again, every chat once',
    async (_, what) => {
      const sim = await simulator();
      const real = clientOf(sim);
      let failing = true;
      const client: LivechatClient = {
        async listChats(query) {
          if (failing && what === 'request' && query.page === 3) throw new Error('socket hang up');
          return real.listChats(query);
        },
      };
      const folder = await folderLake();
      const sink = writesHeldAt(folder, async (key) => {
        if (failing && what === 'write' && key.startsWith('chats/') && key.includes('page-00003'))
          throw new Error('EIO');
      });
      const run = (runId: string) =>
        runArchive({ runId, days: [DAY], source: v2Source(client), sink, concurrency: 2, redeliveryDelayMs: 5 });
      const first = await run('local-20260513T010000Z');
      expect(first.days[0]?.status).not.toBe('complete');
      sim.addChats(DAY, 2, 'newest');
      failing = false;
      const second = await run('local-20260514T010000Z');
      expect(second.days[0]?.status).toBe('complete');
      await expectDayHolds(folder, idsOf(sim.chats(DAY)));
    },
  );

  it('v3.6: a thread two hour slices both return is stored once in chats and in archives', async () => {
    const sim: RunningV36Simulator = await startV36Simulator({ from: DAY, to: DAY, chatsPerDay: 40, seed: 2028 });
    closers.push(() => sim.close());
    const real = createArchivesClient({
      apiUrl: sim.url,
      credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
      baseRetryDelayMs: 5,
    });
    const HOUR = 3_600_000;
    const bumped = new Set<string>();
    let shared = 0;
    // A thread that spans an hour boundary is listed by both hours (the docs do not say which time filters.from/to match).
    const client: ArchivesClient = {
      async listArchives(request) {
        if ('pageId' in request) {
          const page = await real.listArchives(request);
          if (!bumped.has(request.pageId)) return page;
          if (page.next_page_id) bumped.add(page.next_page_id);
          return { ...page, found_chats: page.found_chats + 1 };
        }
        const from = Date.parse(request.filters.from);
        const page = await real.listArchives(request);
        if (Date.parse(request.filters.to) - from > HOUR) return page; // the whole day: planning, counting
        const before = await real.listArchives({
          ...request,
          filters: {
            ...request.filters,
            from: new Date(from - HOUR).toISOString(),
            to: new Date(from - 1).toISOString(),
          },
          sortOrder: 'desc',
          limit: 1,
        });
        const spanning = before.chats[0];
        if (!spanning) return page;
        shared += 1;
        if (page.next_page_id) bumped.add(page.next_page_id);
        return { ...page, chats: [spanning, ...page.chats], found_chats: page.found_chats + 1 };
      },
    };
    const sink = await folderLake();
    const manifest = await runArchive({
      runId: 'local-20260513T010000Z',
      days: [DAY],
      source: v36Source(client, { busyDayThreshold: 10, pageLimit: 100 }),
      sink,
      concurrency: 4,
      redeliveryDelayMs: 5,
    });
    expect(shared, 'threads returned by two slices').toBeGreaterThan(0);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
    const rawIds = [] as string[];
    for (const key of await sink.list(`archives/dt=${DAY}/`)) {
      rawIds.push(
        ...(await decodeNdjsonGzip<{ thread: { id: string } }>((await sink.get(key))!)).map((e) => e.thread.id),
      );
    }
    expect(duplicatesOf(rawIds), 'raw entries stored twice').toEqual([]);
    expect(rawIds.sort()).toEqual(idsOf(sim.chats(DAY)).sort());
    expect(manifest.days[0]?.status).toBe('complete');
  });

  it('a filtered run over an unfiltered lake removes nothing (refused before it writes)', async () => {
    const sim = await simulator();
    const sink = await folderLake();
    await runDay('local-20260513T010000Z', v2Source(clientOf(sim)), sink);
    const outcome = await runDay('local-20260514T010000Z', v2Source(clientOf(sim)), sink, { type: 'missed_chat' }).then(
      () => 'ran',
      (error: Error) => error.message,
    );
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
    expect(outcome).toMatch(/--out/);
  });

  it('v2: a transient total: 0 answer to the planning request of an archived day removes nothing', async () => {
    const sim = await simulator();
    const sink = await folderLake();
    await runDay('local-20260513T010000Z', v2Source(clientOf(sim)), sink);
    const real = clientOf(sim);
    let answeredEmpty = false;
    const client: LivechatClient = {
      async listChats(query) {
        if (answeredEmpty) return real.listChats(query);
        answeredEmpty = true;
        return { chats: [], total: 0, pages: 0 };
      },
    };
    await runDay('local-20260514T010000Z', v2Source(client), sink);
    expect(answeredEmpty).toBe(true);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });

  it('v3.6: found_chats crossing the busy-day threshold, then hour slices failing, removes nothing', async () => {
    const sim = await v36Simulator();
    const sink = await folderLake();
    await runDay('local-20260513T010000Z', v36Source(archivesClientOf(sim)), sink);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
    const real = archivesClientOf(sim);
    const HOUR = 3_600_000;
    // The day is busy now (hour slices), and LiveChat fails every hour's request.
    const client: ArchivesClient = {
      async listArchives(request) {
        if ('filters' in request && Date.parse(request.filters.to) - Date.parse(request.filters.from) < HOUR)
          throw new Error('socket hang up');
        return real.listArchives(request);
      },
    };
    const again = await runDay('local-20260514T010000Z', v36Source(client, { busyDayThreshold: 10 }), sink);
    expect(again.days[0]?.status).not.toBe('complete');
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });

  it('v3.6: a thread listed again with restricted_access and no events never replaces its archived transcript', async () => {
    const sim = await v36Simulator(20);
    const sink = await folderLake();
    await runDay('local-20260513T010000Z', v36Source(archivesClientOf(sim)), sink);
    const real = archivesClientOf(sim);
    const restricted = "You can't access threads older than 60 days on starter plan";
    // Past the plan's retention (Agent Chat API data structures, Thread: restricted_access, no events).
    const client: ArchivesClient = {
      async listArchives(request) {
        const page = await real.listArchives(request);
        const stub = ({ thread: { events: _events, ...thread }, ...archive }: (typeof page.chats)[number]) => ({
          ...archive,
          thread: { ...thread, restricted_access: restricted },
        });
        return { ...page, chats: page.chats.map(stub) };
      },
    };
    await runDay('local-20260514T010000Z', v36Source(client), sink);
    const raw = await rowsOf<{ thread: { id: string; events?: unknown[]; restricted_access?: string } }>(
      sink,
      'archives/',
    );
    expect(duplicatesOf(raw.map((entry) => entry.thread.id))).toEqual([]);
    expect(raw.filter((entry) => !entry.thread.events?.length).map((entry) => entry.thread.id)).toEqual([]);
    expect(raw).toHaveLength(sim.chats(DAY).length);
    await expectDayHolds(sink, idsOf(sim.chats(DAY)));
  });
});
