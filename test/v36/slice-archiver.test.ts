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
import { archiveSlice } from '#sources/v36/slice-archiver.ts';

const DAY = '2026-03-10';
const archives = [...new ChatStore({ seed: 4, from: DAY, to: DAY, chatsPerDay: () => 6 }).dayChats(DAY)].map(
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
    const pages = [{ chats: archives.slice(0, 3) as never, next_page_id: '1' }, { chats: archives.slice(3) as never }];
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
