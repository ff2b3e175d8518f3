import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import type { SliceTask } from '#shared/archive-task.ts';
import { InvalidInputError, LivechatCursorExpiredError } from '#shared/errors.ts';
import { ChatStore } from '#simulator/index.ts';
import { toV36Archive } from '#simulator/v36-archives.ts';
import type { ArchivesPage } from '#sources/v36/archive-schema.ts';
import type { ArchivesClient, ListArchivesRequest } from '#sources/v36/list-archives-client.ts';
import { archiveSlice, type SliceOutcome } from '#sources/v36/slice-archiver.ts';

const DAY = '2026-03-10';
const archives = [...new ChatStore({ seed: 4, from: DAY, to: DAY, chatsPerDay: () => 24 }).dayChats(DAY)].map(
  toV36Archive,
);
const task: SliceTask = {
  v: 1,
  kind: 'slice',
  plan: 'p1',
  runId: 'r',
  day: DAY,
  attempt: 1,
  filters: {},
  timeZone: 'UTC',
  slice: 'day',
  slices: 1,
  found: 6,
};

/** Answers scripted pages in order; `expired` request numbers throw LivechatCursorExpiredError. */
function scripted(pages: Array<Partial<ArchivesPage>>, expired: number[] = []) {
  const requests: ListArchivesRequest[] = [];
  const client: ArchivesClient = {
    async listArchives(request) {
      requests.push(request);
      if (expired.includes(requests.length)) throw new LivechatCursorExpiredError('/x');
      const isFirst = !('pageId' in request);
      const index = isFirst ? 0 : Number((request as { pageId: string }).pageId);
      return { chats: [], found_chats: 6, ...pages[index] } as ArchivesPage;
    },
  };
  return { client, requests };
}

const sink = async () => new LocalFileSink(await mkdtemp(join(tmpdir(), 'slice-')));

describe('archiveSlice', () => {
  it('reports a thread id seen twice as drift and writes nothing', async () => {
    const { client } = scripted([
      { chats: archives.slice(0, 3) as never, next_page_id: '1' },
      { chats: archives.slice(2, 5) as never },
    ]);
    const lake = await sink();
    expect(await archiveSlice(task, { client, sink: lake })).toEqual({
      status: 'drift',
      reason: 'slice day: a thread id came twice',
    });
    expect(await lake.list('chats/')).toEqual([]);
  });

  it('restarts from the first page after an expired cursor, and gives up after maxCursorRestarts', async () => {
    const pages = [
      { chats: archives.slice(0, 3) as never, next_page_id: '1' },
      { chats: archives.slice(3, 6) as never },
    ];
    const restarted = scripted(pages, [2]);
    const outcome = await archiveSlice(task, { client: restarted.client, sink: await sink() });
    expect(outcome).toMatchObject({ status: 'written', chats: 6, parts: 2, restarts: 1 });
    expect(restarted.requests.map((r) => ('pageId' in r ? 'page' : 'first'))).toEqual([
      'first',
      'page',
      'first',
      'page',
    ]);

    const hopeless = scripted(pages, [2, 4, 6]);
    await expect(
      archiveSlice(task, { client: hopeless.client, sink: await sink(), maxCursorRestarts: 2 }),
    ).rejects.toBeInstanceOf(LivechatCursorExpiredError);
  });

  it('refuses v2-only filters before any request', async () => {
    const { client, requests } = scripted([]);
    await expect(
      archiveSlice({ ...task, filters: { rate: 'rated' } }, { client, sink: await sink() }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(requests).toEqual([]);
  });
});

/** `count` pages of two chats each, every one naming the next; all report found_chats `found`. */
function chain(count: number, found = count * 2): Array<Partial<ArchivesPage>> {
  return Array.from({ length: count }, (_, index) => ({
    chats: archives.slice(index * 2, index * 2 + 2) as never,
    found_chats: found,
    ...(index + 1 < count ? { next_page_id: String(index + 1) } : {}),
  }));
}

/** Runs a slice task and the tasks it hands on, as the queue would, until the slice is written or drifts. */
async function runSlice(
  first: SliceTask,
  deps: Omit<Parameters<typeof archiveSlice>[1], 'sink'> & { sink: LocalFileSink },
) {
  const outcomes: SliceOutcome[] = [];
  let next: SliceTask | undefined = first;
  while (next) {
    const outcome = await archiveSlice(next, deps);
    outcomes.push(outcome);
    next = outcome.status === 'continued' ? outcome.next : undefined;
  }
  return outcomes;
}

describe('archiveSlice reads a slice through bounded tasks', () => {
  it('reads at most pagesPerTask pages per task, handing the cursor on, and writes every page once', async () => {
    const { client, requests } = scripted(chain(12));
    const lake = await sink();
    const outcomes = await runSlice(task, { client, sink: lake, pagesPerTask: 5 });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['continued', 'continued', 'written']);
    expect(outcomes.map((outcome) => ('step' in outcome ? outcome.step.parts : 0))).toEqual([5, 5, 2]);
    expect(outcomes[0]).toMatchObject({ next: { cursor: { pageId: '5', part: 6, firstPart: 1, found: 24 } } });
    // One read: the first request carries the filters, every other follows the cursor once.
    expect(requests.map((r) => ('pageId' in r ? r.pageId : 'first'))).toEqual([
      'first',
      ...Array.from({ length: 11 }, (_, i) => String(i + 1)),
    ]);
    const written = outcomes.at(-1)!;
    expect(written).toMatchObject({ status: 'written', chats: 24, parts: 12, dropped: 0 });
    expect((written as { ids: string[] }).ids.sort()).toEqual(archives.map((a) => a.thread.id).sort());
    const parts = (await lake.list('chats/')).map((key) => key.slice(key.lastIndexOf('part-')));
    expect(parts).toEqual(Array.from({ length: 12 }, (_, i) => `part-${String(i + 1).padStart(5, '0')}.json.gz`));
  });

  it('starts no page after the deadline: the rest of the slice goes to the next task', async () => {
    let clock = Date.parse('2026-03-11T03:00:00Z');
    const { client } = scripted(chain(6));
    const slow: ArchivesClient = {
      listArchives: async (request) => {
        clock += 3_000;
        return client.listArchives(request);
      },
    };
    const deadline = clock + 7_000;
    const outcome = await archiveSlice(task, {
      client: slow,
      sink: await sink(),
      pagesPerTask: 100,
      deadline,
      now: () => new Date(clock),
    });
    // Pages started at +0 s, +3 s and +6 s; the one that would start at +9 s is the next task's.
    expect(outcome).toMatchObject({ status: 'continued', step: { parts: 3 }, next: { cursor: { pageId: '3' } } });
  });

  it('a retried task reads from its own cursor and rewrites its own parts', async () => {
    const { client, requests } = scripted(chain(8));
    const lake = await sink();
    const first = await archiveSlice(task, { client, sink: lake, pagesPerTask: 3 });
    if (first.status !== 'continued') throw new Error('expected a hand-off');
    await archiveSlice(first.next, { client, sink: lake, pagesPerTask: 3 });
    const keys = await lake.list('');
    const before = requests.length;
    await archiveSlice(first.next, { client, sink: lake, pagesPerTask: 3 }); // redelivered
    expect(requests.slice(before).map((r) => ('pageId' in r ? r.pageId : 'first'))).toEqual(['3', '4', '5']);
    expect(await lake.list('')).toEqual(keys);
  });

  it("reports drift when found_chats changes on a later task's page", async () => {
    const pages = chain(6);
    pages[4] = { ...pages[4], found_chats: 13 };
    const { client } = scripted(pages);
    const outcomes = await runSlice(task, { client, sink: await sink(), pagesPerTask: 2 });
    expect(outcomes.at(-1)).toEqual({ status: 'drift', reason: 'slice day: found_chats changed from 12 to 13' });
  });

  it("reports drift at the slice's last task when a thread came on a page an earlier task read", async () => {
    const pages = chain(4);
    pages[3] = { ...pages[3], chats: [archives[0], archives[7]] as never };
    const { client } = scripted(pages);
    const outcomes = await runSlice(task, { client, sink: await sink(), pagesPerTask: 2 });
    expect(outcomes.map((o) => o.status)).toEqual(['continued', 'drift']);
    expect(outcomes[1]).toEqual({ status: 'drift', reason: 'slice day: a thread id came twice' });
  });

  it("reads the slice again from its first page when a later task's cursor expired, numbering parts on", async () => {
    // Request 3 is the second task's first: its cursor has expired.
    const { client, requests } = scripted(chain(4), [3]);
    const lake = await sink();
    const outcomes = await runSlice(task, { client, sink: lake, pagesPerTask: 2 });
    expect(requests.map((r) => ('pageId' in r ? r.pageId : 'first'))).toEqual([
      'first',
      '1',
      '2', // expired
      'first',
      '1',
      '2',
      '3',
    ]);
    const written = outcomes.at(-1)!;
    expect(written).toMatchObject({ status: 'written', chats: 8, parts: 4, restarts: 1 });
    expect((written as { ids: string[] }).ids.sort()).toEqual(
      archives
        .slice(0, 8)
        .map((a) => a.thread.id)
        .sort(),
    );
    // The first read's parts stay (nothing read is deleted); the second read numbered on from part 3.
    expect((await lake.list('chats/')).map((key) => key.slice(key.lastIndexOf('part-') + 5, -8))).toEqual([
      '00001',
      '00002',
      '00003',
      '00004',
      '00005',
      '00006',
    ]);
  });
});
