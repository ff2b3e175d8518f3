import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { v36ChatIdOf } from '#simulator/v36-archives.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

/**
 * `npm run webhooks` end to end against the v3.6 simulator (get_chat): the receiver's answers, a
 * get_chat that fails twice first, duplicates, SIGTERM while threads are in flight, and the nightly
 * archive of the same days afterwards leaving every thread once in both tables.
 * Delivery bodies follow the `chat_deactivated` sample of LiveChat's webhooks reference
 * (livechat/livechat-public-docs, src/pages/management/webhooks/index.mdx).
 */
const FROM = '2026-05-01';
const TO = '2026-05-02';
const SECRET = 'webhook-secret-for-tests-0123456789';
let sim: RunningV36Simulator | undefined;
let child: ChildProcessWithoutNullStreams | undefined;

afterEach(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
  await sim?.close();
  sim = undefined;
});

function delivery(threadId: string, overrides: Record<string, unknown> = {}, chatId = v36ChatIdOf(threadId)) {
  return {
    webhook_id: 'b2b5c5e0f9b6c3f1a3a1b2e2d8a7c6f5',
    secret_key: SECRET,
    action: 'chat_deactivated',
    organization_id: '390e44e6-f1e6-0368c-z6ddb-74g14508c2ex',
    payload: { chat_id: chatId, thread_id: threadId, user_id: 'b7eff798-f8df-4364-8059-649c35c9ed0c' },
    additional_data: { chat_properties: {}, chat_presence_user_ids: [] },
    ...overrides,
  };
}

async function post(url: string, body: unknown): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

function startWebhooks(out: string, apiUrl: string, env: Record<string, string>) {
  const proc = spawn('npm', ['run', '--silent', 'webhooks', '--', '--out', out, '--api-url', apiUrl, '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout} ${stderr}`)), 60_000);
    proc.stdout.on('data', () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    proc.on('close', () => reject(new Error(`exited: ${stdout} ${stderr}`)));
  });
  const exit = new Promise<number | null>((resolve) => proc.on('close', resolve));
  return { url, exit, output: () => ({ stdout, stderr }) };
}

async function threadIdsIn(out: string, table: 'chats' | 'archives', day: string): Promise<string[]> {
  const files = (await listFiles(join(out, table, `dt=${day}`))).filter((file) => file.endsWith('.json.gz'));
  const ids: string[] = [];
  for (const file of files) {
    const rows = await decodeNdjsonGzip<{ id: string; thread?: { id: string } }>(
      await readFile(join(out, table, `dt=${day}`, file)),
    );
    ids.push(...rows.map((row) => (table === 'chats' ? row.id : row.thread!.id)));
  }
  return ids;
}

describe('npm run webhooks against the v3.6 simulator', () => {
  it('archives each chat_deactivated thread once, refuses what it must, stops cleanly, and the nightly run merges', async () => {
    const day1 = '2026-05-01';
    const seedSim = await startV36Simulator({ from: FROM, to: TO, seed: 11, chatsPerDay: 12 });
    const threads = seedSim.archives(day1).map((archive) => archive.thread.id);
    await seedSim.close();
    const flaky = threads[0]!;
    sim = await startV36Simulator({
      from: FROM,
      to: TO,
      seed: 11,
      chatsPerDay: 12,
      latencyMs: 20,
      getChatFaults: [{ threadId: flaky, status: 503, times: 2 }],
    });
    const out = await mkdtemp(join(tmpdir(), 'lake-webhooks-'));
    const env = { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token, LIVECHAT_WEBHOOK_SECRET: SECRET };
    const receiver = startWebhooks(out, sim.url, env);
    const url = await receiver.url;

    expect(await post(url, delivery(flaky, { secret_key: 'wrong-secret' }))).toBe(403);
    expect(await post(url, delivery(flaky, { secret_key: undefined }))).toBe(401);
    expect(await post(url, '{"secret_key": ')).toBe(400);
    expect(await post(url, '[1,2]')).toBe(400);
    expect(await post(url, delivery(flaky, { action: 'incoming_chat' }))).toBe(200);
    expect(await post(url, delivery('../../etc'))).toBe(400);
    expect(await post(url, delivery(flaky, {}, '../ABC'))).toBe(400);
    expect(await post(url, delivery('K600PKZON8/..'))).toBe(400);
    expect(await post(url, `${JSON.stringify(delivery(flaky)).slice(0, -1)},"pad":"${'x'.repeat(1_100_000)}"}`)).toBe(
      413,
    );
    // Every thread of the day, each delivered twice (LiveChat retries), the flaky one's get_chat failing twice first.
    const statuses = await Promise.all([...threads, ...threads].map((thread) => post(url, delivery(thread))));
    expect(statuses.every((status) => status === 200)).toBe(true);
    // SIGTERM at once: the threads queued and in flight finish before the process exits.
    child!.kill('SIGTERM');
    expect(await receiver.exit).toBe(0);
    const { stdout, stderr } = receiver.output();
    expect(stderr).not.toContain(SECRET);
    expect(stderr).toMatch(/refused delivery \(403\)/);
    expect(stdout.match(/^thread \S+: dt=/gm)?.length).toBe(threads.length * 2);

    for (const table of ['chats', 'archives'] as const) {
      const ids = await threadIdsIn(out, table, day1);
      expect(duplicatesOf(ids), table).toEqual([]);
      expect([...ids].sort(), table).toEqual([...threads].sort());
    }
    expect(sim.stats().faultsInjected['getChat']).toBe(2);
    expect((await listFiles(out)).filter((file) => file.includes('..') || file.endsWith('.partial'))).toEqual([]);

    // The nightly run of the same days: every thread once, whoever wrote it first.
    const nightly = await runArchiveCli(
      ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
      { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
    );
    expect(nightly.code, nightly.stderr).toBe(0);
    await expectLakeMatchesSimulator(out, sim, [FROM, TO]);
    for (const day of [FROM, TO]) {
      const ids = await threadIdsIn(out, 'archives', day);
      expect(duplicatesOf(ids)).toEqual([]);
      expect(ids.length).toBe(sim.chats(day).length);
    }
    expect((await listFiles(out)).filter((file) => file.includes('webhook-'))).toEqual([]);
  }, 120_000);

  it('refuses a lake archived from REST API v2 with one line', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-webhooks-v2-'));
    await mkdir(join(out, 'manifests', 'day-plans', 'dt=2026-05-01'), { recursive: true });
    await writeFile(
      join(out, 'manifests', 'day-plans', 'dt=2026-05-01', 'run=r.plan-1.json'),
      JSON.stringify({ source: 'v2', plannedAt: '2026-05-02T01:00:00.000Z' }),
    );
    const receiver = startWebhooks(out, 'http://127.0.0.1:9', {
      LIVECHAT_ACCOUNT_ID: 'a',
      LIVECHAT_PAT: 'b',
      LIVECHAT_WEBHOOK_SECRET: SECRET,
    });
    await expect(receiver.url).rejects.toThrow();
    expect(await receiver.exit).toBe(2);
    const lines = receiver.output().stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^error: the lake .* is archived from REST API v2; webhooks/)]);
  }, 60_000);
});
