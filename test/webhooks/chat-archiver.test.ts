import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromLakeRecord } from '#lake/lossless-record.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { chatTask } from '#shared/archive-task.ts';
import { LivechatRequestError } from '#shared/errors.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { archiveChat, webhookThreadKey } from '#sources/v36/chat-archiver.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { documented } from '#test/support/documented-archives.ts';
import { duplicatesOf, listFiles } from '#test/support/lake-reader.ts';

const GET_CHAT_EXAMPLE = 'src/pages/messaging/agent-chat-api/get-chat-response.json';
let sim: RunningV36Simulator | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await sim?.close();
  sim = undefined;
  for (const close of closers.splice(0)) await close();
});

/** A stand-in for get_chat answering LiveChat's documented example; records each request body. */
async function documentedGetChat(answer: (body: Record<string, unknown>) => [number, unknown]) {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      bodies.push({ path: req.url, auth: req.headers.authorization, ...body });
      const [status, json] = answer(body);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = createArchivesClient({
    apiUrl: url,
    credentials: { kind: 'pat', accountId: 'acc', token: 'tok' },
    baseRetryDelayMs: 1,
    timeoutMs: 2_000,
  });
  return { client, bodies };
}

async function rowsOf(out: string, key: string) {
  const { readFile } = await import('node:fs/promises');
  return decodeNdjsonGzip<Record<string, unknown>>(await readFile(join(out, key)));
}

describe('the webhook chat task (get_chat → the thread in its day)', () => {
  it("writes LiveChat's documented get_chat answer verbatim to chat_threads and mapped to chats, in the thread's local day", async () => {
    const example = documented(GET_CHAT_EXAMPLE);
    const { client, bodies } = await documentedGetChat(() => [200, example]);
    const out = await mkdtemp(join(tmpdir(), 'lake-chat-'));
    const sink = new LocalFileSink(out);
    const task = chatTask('PJ0MRSHTDG', 'K600PKZON8', 'Pacific/Kiritimati', new Date('2026-05-01T00:00:00Z'));
    const written = await archiveChat(task, {
      getChat: client.getChat!,
      sink,
      now: () => new Date('2020-05-07T07:20:00.000Z'),
    });
    // created_at 2020-05-07T07:11:28Z is 21:11 on 7 May at UTC+14.
    expect(written).toMatchObject({ kind: 'chat-written', day: '2020-05-07', chats: 1, merged: false });
    expect(bodies).toEqual([
      {
        path: '/v3.6/agent/action/get_chat',
        auth: `Basic ${Buffer.from('acc:tok').toString('base64')}`,
        chat_id: 'PJ0MRSHTDG',
        thread_id: 'K600PKZON8',
      },
    ]);
    const [raw] = await rowsOf(out, webhookThreadKey('2020-05-07', 'K600PKZON8', 'archives/'));
    const { _run_id, _archived_at, _page, ...entry } = raw!;
    expect(fromLakeRecord(entry, THREAD_SCHEMA)).toEqual(example);
    expect({ _run_id, _archived_at, _page }).toEqual({
      _run_id: 'webhook',
      _archived_at: '2020-05-07T07:20:00.000Z',
      _page: 1,
    });
    const [chat] = await rowsOf(out, webhookThreadKey('2020-05-07', 'K600PKZON8', 'chats/'));
    expect(chat).toMatchObject({ id: 'K600PKZON8', visitor_id: 'b7eff798-f8df-4364-8059-649c35c9ed0c' });
    // The thread's last event is older than its created_at in this example: the delay counts from the later.
    expect(written.endToLakeSeconds).toBeCloseTo(512 - 0.28834, 1);
  });

  it('refuses an answer for another thread than asked, and does not retry a 404', async () => {
    const example = documented(GET_CHAT_EXAMPLE);
    const other = await documentedGetChat(() => [200, example]);
    const sink = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-chat-')));
    const task = chatTask('PJ0MRSHTDG', 'K600PKZOO8', 'UTC', new Date());
    await expect(archiveChat(task, { getChat: other.client.getChat!, sink })).rejects.toThrow(
      /got chat PJ0MRSHTDG thread K600PKZON8/,
    );
    const missing = await documentedGetChat(() => [404, { error: { type: 'not_found', message: 'Chat not found' } }]);
    await expect(archiveChat(task, { getChat: missing.client.getChat!, sink })).rejects.toBeInstanceOf(
      LivechatRequestError,
    );
    expect(missing.bodies).toHaveLength(1);
    expect(await listFiles(sink.location)).toEqual([]);
  });

  it('writes nothing for a thread past the retention (restricted_access, no events): it never replaces an archived one', async () => {
    const { events: _, ...thread } = documented(GET_CHAT_EXAMPLE)['thread'] as Record<string, unknown>;
    const stub = {
      ...documented(GET_CHAT_EXAMPLE),
      thread: { ...thread, restricted_access: "You can't access threads older than 60 days on starter plan" },
    };
    const { client } = await documentedGetChat(() => [200, stub]);
    const sink = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-chat-')));
    const written = await archiveChat(chatTask('PJ0MRSHTDG', 'K600PKZON8', 'UTC', new Date()), {
      getChat: client.getChat!,
      sink,
    });
    expect(written.chats).toBe(0);
    expect(await listFiles(sink.location)).toEqual([]);
  });

  it('a redelivery overwrites its own file; a delivery after the nightly settled the day merges it again: each thread once', async () => {
    const day = '2026-05-01';
    sim = await startV36Simulator({ from: day, to: day, seed: 5, chatsPerDay: 15 });
    const out = await mkdtemp(join(tmpdir(), 'lake-chat-'));
    const nightly = await runArchiveCli(
      ['--from', day, '--to', day, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
      {
        LIVECHAT_ACCOUNT_ID: sim.accountId,
        LIVECHAT_PAT: sim.token,
      },
    );
    expect(nightly.code, nightly.stderr).toBe(0);
    const client = createArchivesClient({
      apiUrl: sim.url,
      credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
    });
    const sink = new LocalFileSink(out);
    const threads = sim.archives(day).map((archive) => archive.thread.id);
    // The simulator's get_chat answers the list_archives entry of the thread (the documented shape of both).
    expect(await client.getChat!(`C${threads[2]!.slice(1)}`, threads[2]!)).toEqual(sim.archives(day)[2]);
    for (const thread of [threads[0]!, threads[0]!, threads[1]!]) {
      const written = await archiveChat(chatTask(`C${thread.slice(1)}`, thread, 'UTC', new Date()), {
        getChat: client.getChat!,
        sink,
      });
      expect(written).toMatchObject({ day, chats: 1, merged: true });
    }
    for (const table of ['chats', 'archives']) {
      const ids: string[] = [];
      for (const file of (await listFiles(join(out, table, `dt=${day}`))).filter((name) => name.endsWith('.json.gz'))) {
        const rows = await rowsOf(out, `${table}/dt=${day}/${file}`);
        ids.push(...rows.map((row) => String(table === 'chats' ? row['id'] : (row['thread'] as { id: string }).id)));
      }
      expect(duplicatesOf(ids), table).toEqual([]);
      expect([...ids].sort(), table).toEqual([...threads].sort());
    }
    // The webhook's copies are newer than the night's: they are what the day keeps for those threads.
    expect((await listFiles(out)).filter((file) => file.includes('webhook-'))).toEqual([]);
  });
});
