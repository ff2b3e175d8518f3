import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { dayTask } from '#shared/archive-task.ts';
import { startSimulator } from '#simulator/index.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';
import { archiveWithFiles, fileRowsOf, objectsUnder, simulatorWithVisitors } from '#test/support/visitor-files.ts';

const FROM = '2026-05-01';
const TO = '2026-05-02';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const DAYS = { from: FROM, to: TO };

describe.each(['v2', 'v3.6'] as const)(
  'files of an erased visitor left by a killed files task, %s source',
  (source) => {
    it('the next run, which drops the visitor’s chats at write, removes their files and rows', async () => {
      const { sim, env, visitorOf } = await simulatorWithVisitors(source, { ...DAYS, chatsPerDay: 60 }, closers);
      const out = await mkdtemp(join(tmpdir(), `lake-erased-files-left-${source}-`));
      // Files fetched from the simulator's own host.
      const archive = () => archiveWithFiles(source, DAYS, sim.url, env, out);
      const first = await archive();
      expect(first.code, first.stderr).toBe(0);
      const rows = await fileRowsOf(out);
      const stored = rows.find((row) => row.status === 'stored')!;
      const visitor = visitorOf(stored.thread_id ?? stored.chat_id);
      expect(visitor).not.toBe('');
      const owners = new Set(rows.map((row) => row.thread_id ?? row.chat_id).filter((id) => visitorOf(id) === visitor));
      const before = await objectsUnder(out);
      const visitorsObjects = before.filter((key) =>
        [...owners].some((id) => key.includes(`/${id}/`) || key.includes(`/${id}.`)),
      );
      expect(visitorsObjects.some((key) => key.startsWith('files/'))).toBe(true);
      expect(visitorsObjects.some((key) => key.startsWith('chat-files/'))).toBe(true);
      const bodies = new Map(
        await Promise.all(visitorsObjects.map(async (key) => [key, await readFile(join(out, key))] as const)),
      );

      // The visitor is erased while a files task of the day is under way: the erase finds none of
      // their files yet; the task then writes them and is killed before its removal step.
      await eraseVisitor({ sink: new LocalFileSink(out), target: { kind: 'visitor-id', value: visitor } });
      const withoutVisitor = await objectsUnder(out);
      expect(withoutVisitor).toEqual(before.filter((key) => !visitorsObjects.includes(key)));
      for (const [key, body] of bodies) {
        await mkdir(dirname(join(out, key)), { recursive: true });
        await writeFile(join(out, key), body);
      }
      expect(await objectsUnder(out)).toEqual(before);

      // The next run archives the days again: the visitor's files go with their chats.
      const next = await archive();
      expect(next.code, next.stderr).toBe(0);
      expect(await objectsUnder(out)).toEqual(withoutVisitor);
    });
  },
);

describe('files of an erased visitor left by a killed files task, the worker Lambda’s task handler', () => {
  it('with attachments on, the next night’s page tasks that drop the visitor’s chats remove their files and rows', async () => {
    const sim = await startSimulator({ from: FROM, to: TO, chatsPerDay: 60 });
    closers.push(() => sim.close());
    const out = await mkdtemp(join(tmpdir(), 'lake-erased-files-left-queued-'));
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const fetcher = safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 });
    const night = (runId: string) =>
      deliverUntilEmpty(
        [FROM, TO].map((day) => dayTask(runId, day, 1, {}, 'UTC')),
        { client, sink: new LocalFileSink(out), maxAttempts: 5, files: { fetcher } },
        { seed: 3 },
      );
    await night('scheduled-20260503T023000Z');
    const rows = await fileRowsOf(out);
    const stored = rows.find((row) => row.status === 'stored')!;
    const visitorOf = (owner: string) =>
      String([FROM, TO].flatMap((day) => sim.chats(day)).find((chat) => chat.id === owner)?.['visitor_id'] ?? '');
    const visitor = visitorOf(stored.chat_id);
    const owners = new Set(rows.map((row) => row.chat_id).filter((id) => visitorOf(id) === visitor));
    const before = await objectsUnder(out);
    const visitorsObjects = before.filter((key) =>
      [...owners].some((id) => key.includes(`/${id}/`) || key.includes(`/${id}.`)),
    );
    expect(visitorsObjects.some((key) => key.startsWith('files/'))).toBe(true);
    const bodies = new Map(
      await Promise.all(visitorsObjects.map(async (key) => [key, await readFile(join(out, key))] as const)),
    );
    await eraseVisitor({ sink: new LocalFileSink(out), target: { kind: 'visitor-id', value: visitor } });
    const withoutVisitor = await objectsUnder(out);
    for (const [key, body] of bodies) {
      await mkdir(dirname(join(out, key)), { recursive: true });
      await writeFile(join(out, key), body);
    }

    await night('scheduled-20260504T023000Z');
    expect(await objectsUnder(out)).toEqual(withoutVisitor);
  });
});
