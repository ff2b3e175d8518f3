import { afterEach, describe, expect, it } from 'vitest';
import { LivechatAuthError, LivechatRequestError, LivechatUnavailableError } from '#shared/errors.ts';
import { type FaultOptions, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import type { ApiLifecycleNotice } from '#sources/api-lifecycle.ts';
import { createLivechatClient, type RetryEvent } from '#sources/v2/livechat-client.ts';

const DAY = '2026-03-10';
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function clientFor(faults: FaultOptions, overrides: Partial<Parameters<typeof createLivechatClient>[0]> = {}) {
  sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 60, faults });
  const retries: RetryEvent[] = [];
  const client = createLivechatClient({
    apiUrl: sim.url,
    credentials: sim.credentials,
    baseRetryDelayMs: 5,
    timeoutMs: 2_000,
    onRetry: (event) => retries.push(event),
    ...overrides,
  });
  return { client, retries, sim };
}

describe('LiveChat v2 client', () => {
  it('lists a page with total and pages, sending filters as query parameters', async () => {
    const { client, sim } = await clientFor({});
    const page = await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 3 });
    expect(page.total).toBe(60);
    expect(page.pages).toBe(3);
    expect(page.chats.map((chat) => chat.id)).toEqual(
      sim
        .chats(DAY)
        .slice(50)
        .map((chat) => chat.id),
    );

    const missed = await client.listChats({
      dateFrom: DAY,
      dateTo: DAY,
      timeZone: 'UTC',
      page: 1,
      filters: { type: 'missed_chat' },
    });
    expect(missed.total).toBe(sim.chats(DAY).filter((chat) => chat.type === 'missed_chat').length);
    expect(missed.chats.every((chat) => chat.type === 'missed_chat')).toBe(true);
  });

  it('keeps every field of a chat verbatim, including fields it does not know', async () => {
    const { client, sim } = await clientFor({});
    const page = await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(page.chats[0]).toEqual(sim.chats(DAY)[0]);
    expect(Object.keys(page.chats[0]!)).toEqual(Object.keys(sim.chats(DAY)[0]!)); // in the API's order too
  });

  it.each([
    ['429 with Retry-After', { fault: '429', retryAfterSeconds: 0 }, 'rate-limited'],
    ['429 without Retry-After', { fault: '429', retryAfterSeconds: null }, 'rate-limited'],
    ['500', { fault: '500' }, 'server-error'],
    ['502', { fault: '502' }, 'server-error'],
    ['503', { fault: '503' }, 'server-error'],
    ['truncated JSON', { fault: 'malformed' }, 'malformed-body'],
    ['an HTML page (as 200 or 502)', { fault: 'html' }, /^(malformed-body|server-error)$/],
    ['a connection reset', { fault: 'reset' }, 'network'],
  ] as const)('retries %s and then succeeds', async (_name, scripted, reason) => {
    const { client, retries } = await clientFor({ script: [{ ...scripted, times: 2 }] as FaultOptions['script'] });
    const page = await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(page.chats).toHaveLength(25);
    expect(retries).toHaveLength(2);
    for (const retry of retries) expect(retry.reason).toMatch(reason);
  });

  it('abandons a response slower than the timeout and retries it', async () => {
    const { client, retries } = await clientFor(
      { slowMs: 5_000, script: [{ fault: 'slow', times: 1 }] },
      { timeoutMs: 300 },
    );
    const page = await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(page.total).toBe(60);
    expect(retries.map((retry) => retry.reason)).toEqual(['timeout']);
  });

  it('caps an absurd Retry-After instead of waiting for it', async () => {
    const { client, retries } = await clientFor(
      { script: [{ fault: '429', retryAfterSeconds: 86_400, times: 1 }] },
      { maxRetryDelayMs: 50 },
    );
    const started = Date.now();
    await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(retries).toHaveLength(1);
  });

  it('honours a short Retry-After before retrying', async () => {
    const { client } = await clientFor({ script: [{ fault: '429', retryAfterSeconds: 1, times: 1 }] });
    const started = Date.now();
    await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('gives up after the retry limit with a typed error naming the cause', async () => {
    const { client, retries } = await clientFor({ script: [{ fault: '503', times: 10 }] }, { retryLimit: 3 });
    const error = await client
      .listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatUnavailableError);
    expect((error as Error).message).toMatch(/failed after retries: HTTP 503/);
    expect(retries).toHaveLength(3);
  });

  it('fails at once on wrong credentials, without retrying and without echoing the key', async () => {
    const { client, retries, sim } = await clientFor(
      {},
      { credentials: { kind: 'pat', login: 'demo@example.com', pat: 'wrong-secret-key-123' } },
    );
    const error = await client
      .listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatAuthError);
    expect((error as Error).message).toMatch(/authentication failed \(401\)/);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('wrong-secret-key-123');
    expect(retries).toHaveLength(0);
    expect(sim.stats().requests).toBe(1);
  });

  it('fails at once on a request the API rejects (400)', async () => {
    const { client, retries } = await clientFor({});
    const error = await client
      .listChats({ dateFrom: 'not-a-day', dateTo: DAY, timeZone: 'UTC', page: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatRequestError);
    expect((error as Error).message).toMatch(/\(400\)/);
    expect(retries).toHaveLength(0);
  });

  it.each([
    [{ kind: 'pat', login: 'demo@example.com', pat: 'demo-pat' }, `Basic ${b64('demo@example.com:demo-pat')}`],
    [{ kind: 'bearer', token: 'demo-bearer-token' }, 'Bearer demo-bearer-token'],
    [
      { kind: 'api-key', login: 'demo@example.com', apiKey: 'demo-api-key' },
      `Basic ${b64('demo@example.com:demo-api-key')}`,
    ],
  ] as const)('sends %j as %s, with the API version header and no X-Region by default', async (credentials, header) => {
    const seen: Headers[] = [];
    const { client } = await clientFor({}, { credentials, fetch: recordingFetch(seen) });
    await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    expect(seen[0]?.get('x-api-version')).toBe('2');
    expect(seen[0]?.get('authorization')).toBe(header);
    expect(seen[0]?.has('x-region')).toBe(false);
  });

  it('sends X-Region when a region is given', async () => {
    const seen: Headers[] = [];
    sim = await startSimulator({ from: DAY, to: DAY, region: 'fra' });
    const client = createLivechatClient({
      apiUrl: sim.url,
      credentials: sim.credentials,
      region: 'fra',
      fetch: recordingFetch(seen),
    });
    expect((await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 })).total).toBeGreaterThan(0);
    expect(seen[0]?.get('x-region')).toBe('fra');
  });

  it('hands every Legacy or Deprecation header to onLifecycle', async () => {
    sim = await startSimulator({ from: DAY, to: DAY, lifecycle: { header: 'Legacy', value: '2027-01-31' } });
    const notices: ApiLifecycleNotice[] = [];
    const client = createLivechatClient({
      apiUrl: sim.url,
      credentials: sim.credentials,
      onLifecycle: (notice) => notices.push(notice),
    });
    await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 });
    await client.listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 2 });
    expect(notices).toEqual([
      { header: 'Legacy', value: '2027-01-31', endsOn: '2027-01-31', path: expect.stringMatching(/^\/chats\?/) },
      { header: 'Legacy', value: '2027-01-31', endsOn: '2027-01-31', path: expect.stringMatching(/page=2/) },
    ]);
  });
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

function recordingFetch(seen: Headers[]): typeof fetch {
  return async (input, init) => {
    seen.push(new Request(input, init).headers);
    return fetch(input, init);
  };
}

describe('LiveChat v2 client time budget', () => {
  it('gives up when retries would outlast the total budget', async () => {
    sim = await startSimulator({ from: DAY, to: DAY, faults: { script: [{ fault: '503', times: 100 }] } });
    const client = createLivechatClient({
      apiUrl: sim.url,
      credentials: sim.credentials,
      baseRetryDelayMs: 200,
      totalTimeoutMs: 700,
    });
    const started = Date.now();
    const error = await client
      .listChats({ dateFrom: DAY, dateTo: DAY, timeZone: 'UTC', page: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatUnavailableError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('Retry-After', () => {
  it('is read as seconds or as an HTTP date', async () => {
    const { retryAfterMs } = await import('#sources/retrying-api.ts');
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(retryAfterMs('3', now)).toBe(3000);
    expect(retryAfterMs('Wed, 25 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 25 Nov 2026 11:59:00 GMT', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
