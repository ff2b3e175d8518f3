import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { eraseCommand } from '#cli/erase-command.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { recordHasIdentifier } from '#privacy/visitor-identifiers.ts';
import { dayTask } from '#shared/archive-task.ts';
import { type Chat, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { capture, runArchiveCli } from '#test/support/cli-runner.ts';
import { chatIdsByDay, duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const FROM = '2026-04-06';
const TO = '2026-04-08';
const DAYS = ['2026-04-06', '2026-04-07', '2026-04-08'];
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** The visitor with the most chats over the days (a returning visitor). */
function returningVisitor(chats: readonly Chat[]): { visitorId: string; ids: Set<string> } {
  const byVisitor = new Map<string, string[]>();
  for (const chat of chats) {
    const visitorId = chat['visitor_id'] as string;
    byVisitor.set(visitorId, [...(byVisitor.get(visitorId) ?? []), chat.id]);
  }
  const [visitorId, ids] = [...byVisitor].sort((a, b) => b[1].length - a[1].length)[0]!;
  return { visitorId, ids: new Set(ids) };
}

async function erase(args: string[], s3?: ReturnType<typeof mockVersionedBucket>['client']) {
  const stdout = capture();
  const code = await eraseCommand(args, { stdout: stdout.stream, stderr: capture().stream, ...(s3 ? { s3 } : {}) });
  return { code, stdout: stdout.text() };
}

/** The lake holds every chat of the simulator but the erased visitor's, each exactly once. */
async function expectAllButErased(out: string, chatsOf: (day: string) => readonly Chat[], erased: Set<string>) {
  const lake = await chatIdsByDay(out);
  for (const day of DAYS) {
    const ids = lake.get(day) ?? [];
    expect(duplicatesOf(ids), day).toEqual([]);
    const expected = chatsOf(day)
      .map((chat) => chat.id)
      .filter((id) => !erased.has(id));
    expect([...ids].sort(), day).toEqual(expected.sort());
  }
}

describe('an erased visitor stays erased: re-archiving the same days does not bring them back', () => {
  it('v2, local run (npm run archive): the run drops and counts them; every other chat is there once', async () => {
    const sim: RunningSimulator = await startSimulator({ from: FROM, to: TO, chatsPerDay: 70, seed: 21 });
    closers.push(() => sim.close());
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_API_KEY: sim.apiKey };
    const archive = ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url];
    expect((await runArchiveCli(archive, env)).code).toBe(0);
    const { visitorId, ids } = returningVisitor(sim.allChats());
    expect(ids.size).toBeGreaterThan(1);

    expect((await erase(['--visitor-id', visitorId, '--out', out])).stdout).toContain(`erased ${ids.size} chats`);
    const again = await runArchiveCli(archive, env);

    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${ids.size} chats of erased visitors dropped`);
    await expectAllButErased(out, (day) => sim.chats(day), ids);
  });

  it('v3.6, local run: a day with dropped chats still settles complete, and they stay out', async () => {
    const sim: RunningV36Simulator = await startV36Simulator({ from: FROM, to: TO, chatsPerDay: 50, seed: 5 });
    closers.push(() => sim.close());
    const out = await mkdtemp(join(tmpdir(), 'lake-v36-'));
    const env = { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token };
    const archive = ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--source', 'v3.6'];
    expect((await runArchiveCli(archive, env, { v36Overrides: { pageLimit: 20 } })).code).toBe(0);
    const all = DAYS.flatMap((day) => sim.chats(day));
    const { visitorId, ids } = returningVisitor(all);

    // A v3.6 chat is stored twice: its raw entry in chat_threads and its row in chats; both go, and it counts once.
    expect((await erase(['--visitor-id', visitorId, '--out', out])).stdout).toContain(
      `erased ${ids.size} chat${ids.size === 1 ? '' : 's'} (${ids.size * 2} rows across the chat tables)`,
    );
    const again = await runArchiveCli(archive, env, { v36Overrides: { pageLimit: 20 } });

    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${ids.size} chats of erased visitors dropped`);
    await expectAllButErased(out, (day) => sim.chats(day), ids);
    // chat_threads (archives/) holds the same threads as chats, so none of the erased ones either.
    const threadIds = await Promise.all(
      (await listFiles(join(out, 'archives'))).map(async (file) =>
        (await decodeNdjsonGzip<{ thread: { id: string } }>(await readFile(join(out, 'archives', file)))).map(
          (record) => record.thread.id,
        ),
      ),
    );
    const stored = threadIds.flat();
    expect(stored.filter((id) => ids.has(id))).toEqual([]);
    expect(stored.length).toBe(DAYS.flatMap((day) => sim.chats(day)).length - ids.size);
  });

  it('worker on S3 (queued tasks, duplicates and reordering): no version of any chat file holds the visitor again', async () => {
    const sim: RunningSimulator = await startSimulator({ from: FROM, to: TO, chatsPerDay: 60, seed: 33 });
    closers.push(() => sim.close());
    const bucket = mockVersionedBucket('lake-bucket');
    closers.push(() => bucket.restore());
    const sink = new S3Sink(bucket.client, 'lake-bucket');
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const tasks = (runId: string) => DAYS.map((day) => dayTask(runId, day, 1, {}, 'UTC'));
    await deliverUntilEmpty(tasks('run-1'), { client, sink, maxAttempts: 5 }, { seed: 1 });
    const { visitorId, ids } = returningVisitor(sim.allChats());

    expect((await erase(['--visitor-id', visitorId, '--bucket', 'lake-bucket'], bucket.client)).code).toBe(0);
    const { results } = await deliverUntilEmpty(
      tasks('run-2'),
      { client, sink, maxAttempts: 5 },
      { seed: 2, shuffle: true, duplicateRate: 0.3 },
    );

    const dropped = results.reduce((sum, result) => sum + (reportOf(result).counts['ChatsDropped'] ?? 0), 0);
    expect(dropped).toBeGreaterThanOrEqual(ids.size); // duplicated deliveries drop them again
    // Each unit that dropped some says so once (redeliveries overwrite), for day_completeness.
    const rows = bucket
      .currentKeys()
      .filter((key) => key.startsWith('manifests/dropped-chats/') && key.includes('run=run-2.'))
      .map((key) => JSON.parse(bucket.current(key)!.toString('utf8')) as { chats: number; attempt: number });
    expect(rows.reduce((sum, row) => sum + row.chats, 0)).toBe(ids.size);
    const chatVersions = bucket.allVersions().filter((version) => version.key.startsWith('chats/'));
    const lines = (body: Buffer) => gunzipSync(body).toString('utf8').split('\n').filter(Boolean);
    for (const version of chatVersions) {
      for (const line of lines(version.body)) {
        expect(recordHasIdentifier(JSON.parse(line), { kind: 'visitor-id', value: visitorId })).toBe(false);
      }
    }
    const current = bucket
      .currentKeys()
      .filter((key) => key.startsWith('chats/'))
      .flatMap((key) => lines(bucket.current(key)!).map((line) => JSON.parse(line).id as string));
    expect(duplicatesOf(current)).toEqual([]);
    expect(current.sort()).toEqual(
      sim
        .allChats()
        .map((chat) => chat.id)
        .filter((id) => !ids.has(id))
        .sort(),
    );
  });
});
