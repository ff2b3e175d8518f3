import { afterEach, describe, expect, it } from 'vitest';
import {
  LivechatAuthError,
  LivechatCursorExpiredError,
  LivechatRequestError,
  LivechatUnavailableError,
} from '#shared/errors.ts';
import type { FaultOptions } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator, type V36SimulatorOptions } from '#simulator/v36-simulator.ts';
import type { RetryEvent } from '#sources/retrying-api.ts';
import {
  type ArchivesClientOptions,
  createArchivesClient,
  type V36Credentials,
} from '#sources/v36/list-archives-client.ts';

const DAY = '2026-03-10';
const RANGE = { from: `${DAY}T00:00:00.000000Z`, to: `${DAY}T23:59:59.999999Z` };
let sim: RunningV36Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function clientFor(
  faults: FaultOptions = {},
  overrides: Partial<ArchivesClientOptions> = {},
  simOptions: Partial<V36SimulatorOptions> = {},
) {
  sim = await startV36Simulator({ from: DAY, to: DAY, chatsPerDay: () => 60, faults, ...simOptions });
  const retries: RetryEvent[] = [];
  const credentials: V36Credentials = { kind: 'pat', accountId: sim.accountId, token: sim.token };
  const client = createArchivesClient({
    apiUrl: sim.url,
    credentials,
    baseRetryDelayMs: 5,
    timeoutMs: 2_000,
    onRetry: (event) => retries.push(event),
    ...overrides,
  });
  return { client, retries, sim };
}

async function readAll(client: ReturnType<typeof createArchivesClient>, limit = 25) {
  let page = await client.listArchives({ filters: RANGE, limit, sortOrder: 'asc' });
  const ids = page.chats.map((chat) => chat.thread.id);
  const found = [page.found_chats];
  while (page.next_page_id) {
    page = await client.listArchives({ pageId: page.next_page_id });
    ids.push(...page.chats.map((chat) => chat.thread.id));
    found.push(page.found_chats);
  }
  return { ids, found };
}

describe('LiveChat v3.6 list_archives client', () => {
  it('follows next_page_id to the end, sending filters/limit/sort_order first and then only page_id', async () => {
    const { client, sim } = await clientFor();
    const { ids, found } = await readAll(client);
    expect(found).toEqual([60, 60, 60]);
    expect(ids).toEqual(
      sim
        .chats(DAY)
        .map((chat) => chat.id)
        .reverse(),
    );
    const bodies = sim.stats().bodies;
    expect(bodies[0]).toEqual({ filters: RANGE, limit: 25, sort_order: 'asc' });
    expect(bodies.slice(1).map((body) => Object.keys(body))).toEqual([['page_id'], ['page_id']]);
  });

  it('caps limit at 100, the documented maximum', async () => {
    const { client, sim } = await clientFor();
    await client.listArchives({ filters: RANGE, limit: 500, sortOrder: 'desc' });
    expect(sim.stats().bodies[0]!['limit']).toBe(100);
  });

  it('authenticates with a Bearer token and sends X-Region when configured', async () => {
    const { client } = await clientFor({}, {}, { region: 'fra' });
    await expect(client.listArchives({ filters: RANGE, limit: 10, sortOrder: 'asc' })).rejects.toBeInstanceOf(
      LivechatRequestError,
    );
    const bearer = createArchivesClient({
      apiUrl: sim!.url,
      credentials: { kind: 'bearer', token: sim!.bearerToken },
      region: 'fra',
      baseRetryDelayMs: 5,
    });
    expect((await bearer.listArchives({ filters: RANGE, limit: 10, sortOrder: 'asc' })).found_chats).toBe(60);
  });

  it('fails at once on a wrong token, naming the v3.6 variables and never the token', async () => {
    const { sim } = await clientFor();
    const client = createArchivesClient({
      apiUrl: sim.url,
      credentials: { kind: 'pat', accountId: sim.accountId, token: 'wrong-secret-token' },
      baseRetryDelayMs: 5,
    });
    const error = await client.listArchives({ filters: RANGE, limit: 10, sortOrder: 'asc' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LivechatAuthError);
    expect(String((error as Error).message)).toContain('LIVECHAT_PAT');
    expect(String((error as Error).message)).not.toContain('wrong-secret-token');
    expect(sim.stats().requests).toBe(1);
  });

  it.each([
    ['429 with Retry-After', { fault: '429', retryAfterSeconds: 0 }, 'rate-limited'],
    ['500', { fault: '500' }, 'server-error'],
    ['502 HTML', { fault: '502' }, 'server-error'],
    ['503', { fault: '503' }, 'server-error'],
    ['truncated JSON', { fault: 'malformed' }, 'malformed-body'],
    ['a connection reset', { fault: 'reset' }, 'network'],
  ] as const)('retries %s on a cursor page and still reads every chat once', async (_name, fault, reason) => {
    const { client, retries, sim } = await clientFor({ script: [{ ...fault, page: 2, times: 2 }] });
    const { ids } = await readAll(client);
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    expect(retries.map((retry) => retry.reason)).toEqual([reason, reason]);
    expect(sim.stats().faultsInjected[fault.fault]).toBe(2);
  });

  it('gives up with LivechatUnavailableError when the faults outlast the retries', async () => {
    const { client } = await clientFor({ rate5xx: 1 }, { retryLimit: 2 });
    await expect(client.listArchives({ filters: RANGE, limit: 10, sortOrder: 'asc' })).rejects.toBeInstanceOf(
      LivechatUnavailableError,
    );
  });

  it('reports an expired cursor as LivechatCursorExpiredError, not as a bad request', async () => {
    const { client } = await clientFor({}, {}, { cursorExpiry: [{ page: 2 }] });
    const first = await client.listArchives({ filters: RANGE, limit: 25, sortOrder: 'asc' });
    await expect(client.listArchives({ pageId: first.next_page_id! })).rejects.toBeInstanceOf(
      LivechatCursorExpiredError,
    );
    // The cursor works again afterwards (the expiry was scripted once).
    expect((await client.listArchives({ pageId: first.next_page_id! })).chats).toHaveLength(25);
  });
});
