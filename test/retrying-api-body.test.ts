import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LivechatResponseError } from '#shared/errors.ts';
import { createLivechatClient, type RetryEvent } from '#sources/v2/livechat-client.ts';

/**
 * How the shared ky client (functions/sources/retrying-api.ts) reads a 200 body: inside the
 * attempt that fetched it, so a body that stalls or is cut off midway is retried like the request
 * itself, and one that is not the documented JSON is retried or refused as before.
 */
const DAY = '2026-03-10';
const PAGE = JSON.stringify({
  chats: [{ id: 'CHAT1', type: 'chat', tags: ['x'], messages: [{ text: 'héllo – ünïcode ✓' }] }],
  total: 1,
  pages: 1,
});

/** What the server does with the n-th request (1-based); the last entry repeats. */
type Answer = 'whole' | 'stall-mid-body' | 'cut-mid-body' | 'truncated' | 'wrong-shape' | 'chat-without-id';

let server: Server | undefined;
const open = new Set<ServerResponse>();

afterEach(async () => {
  for (const res of open) res.destroy();
  open.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(answers: readonly Answer[]): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  server = createServer((_req, res) => {
    const answer = answers[Math.min(requests, answers.length - 1)]!;
    requests += 1;
    open.add(res);
    res.on('close', () => open.delete(res));
    const half = PAGE.slice(0, Math.floor(PAGE.length / 2));
    res.writeHead(200, { 'content-type': 'application/json' });
    if (answer === 'whole') res.end(PAGE);
    else if (answer === 'truncated') res.end(half);
    else if (answer === 'wrong-shape') res.end(JSON.stringify({ chats: 'none', total: 1, pages: 1 }));
    else if (answer === 'chat-without-id')
      res.end(JSON.stringify({ chats: [{ id: 'A' }, { type: 'chat' }], total: 2, pages: 1 }));
    else if (answer === 'stall-mid-body')
      res.write(half); // and nothing more: the connection stays open
    else res.write(half, () => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, requests: () => requests };
}

function clientOf(url: string, retries: RetryEvent[]) {
  return createLivechatClient({
    apiUrl: url,
    credentials: { kind: 'bearer', token: 'test-token' },
    baseRetryDelayMs: 5,
    timeoutMs: 400,
    retryLimit: 3,
    onRetry: (event) => retries.push(event),
  });
}

const query = { dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 };

describe('a 200 body is read inside its attempt', () => {
  it('abandons a body that stalls after the headers once the attempt times out, and retries it', async () => {
    const { url, requests } = await serve(['stall-mid-body', 'whole']);
    const retries: RetryEvent[] = [];
    const page = await clientOf(url, retries).listChats(query);
    expect(page.chats.map((chat) => chat.id)).toEqual(['CHAT1']);
    expect(retries.map((retry) => retry.reason)).toEqual(['timeout']);
    expect(requests()).toBe(2);
  });

  it('retries a body whose connection is cut midway', async () => {
    const { url, requests } = await serve(['cut-mid-body', 'whole']);
    const retries: RetryEvent[] = [];
    const page = await clientOf(url, retries).listChats(query);
    expect(page.chats[0]).toEqual(JSON.parse(PAGE).chats[0]);
    expect(retries.map((retry) => retry.reason)).toEqual(['network']);
    expect(requests()).toBe(2);
  });

  it('retries a body that is not JSON, and returns the next one verbatim (non-ASCII text intact)', async () => {
    const { url } = await serve(['truncated', 'truncated', 'whole']);
    const retries: RetryEvent[] = [];
    const page = await clientOf(url, retries).listChats(query);
    expect(page).toEqual(JSON.parse(PAGE));
    expect(retries.map((retry) => retry.reason)).toEqual(['malformed-body', 'malformed-body']);
  });

  it.each([
    ['wrong-shape', /\$\.chats: /],
    ['chat-without-id', /\$\.chats\[1\]\.id: /],
  ] as const)('refuses at once a body that is JSON but not the documented shape (%s)', async (answer, path) => {
    const { url, requests } = await serve([answer]);
    const retries: RetryEvent[] = [];
    const error = await clientOf(url, retries)
      .listChats(query)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatResponseError);
    expect((error as Error).message).toMatch(path);
    expect(retries).toHaveLength(0);
    expect(requests()).toBe(1);
  });

  it('fails with a typed error when every body is cut off', async () => {
    const { url, requests } = await serve(['truncated']);
    const retries: RetryEvent[] = [];
    const error = await clientOf(url, retries)
      .listChats(query)
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/response body is not JSON/);
    expect(retries).toHaveLength(3);
    expect(requests()).toBe(4);
  });
});
