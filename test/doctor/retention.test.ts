import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { volumeCheck } from '#doctor/volume-estimate.ts';
import { LivechatRequestError } from '#shared/errors.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import {
  LICENSE_PROPERTIES_PATH,
  oldestServedDay,
  readLicenseRetention,
  retentionOf,
} from '#sources/license-retention.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { authorizationHeader, createArchivesClient } from '#sources/v36/list-archives-client.ts';

let servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

describe('license retention (Configuration API v3.6 list_license_properties, namespace limits)', () => {
  it('adds base and additional months, -1 is unlimited, hard caps both', () => {
    expect(
      retentionOf({ 'archives_retention.base': 2, 'archives_retention.additional': 0, 'archives_retention.hard': -1 }),
    ).toEqual({ months: 2 });
    expect(retentionOf({ 'archives_retention.base': 12, 'archives_retention.additional': 6 })).toEqual({ months: 18 });
    expect(
      retentionOf({ 'archives_retention.base': -1, 'archives_retention.additional': 0, 'archives_retention.hard': -1 }),
    ).toEqual({ unlimited: true });
    expect(retentionOf({ 'archives_retention.base': -1, 'archives_retention.hard': 24 })).toEqual({ months: 24 });
    expect(
      retentionOf({
        'archives_retention.base': 20,
        'archives_retention.additional': 10,
        'archives_retention.hard': 24,
      }),
    ).toEqual({ months: 24 });
    expect(retentionOf({})).toBeUndefined();
  });

  it('counts months back from today, on the month end when the month is shorter', () => {
    expect(oldestServedDay('2026-11-20', { months: 2 })).toBe('2026-09-20');
    expect(oldestServedDay('2026-05-31', { months: 3 })).toBe('2026-02-28');
    expect(oldestServedDay('2026-01-15', { months: 12 })).toBe('2025-01-15');
    expect(oldestServedDay('2026-01-15', { unlimited: true })).toBeUndefined();
  });

  it('reads the documented answer {limits: {...}} from both simulators, with a v3 PAT or a bearer token', async () => {
    const v36 = await startV36Simulator({
      from: '2026-11-01',
      to: '2026-11-02',
      retention: { months: 12, additional: 6 },
    });
    const v2 = await startSimulator({ from: '2026-11-01', to: '2026-11-02', retention: { months: 2 } });
    servers.push(v36, v2);
    const pat = authorizationHeader({ kind: 'pat', accountId: v36.accountId, token: v36.token });
    expect(await readLicenseRetention({ apiUrl: v36.url, authorization: pat })).toEqual({ months: 18 });
    expect(await readLicenseRetention({ apiUrl: v2.url, authorization: `Bearer ${v2.bearerToken}` })).toEqual({
      months: 2,
    });
    const body = await fetch(`${v36.url}${LICENSE_PROPERTIES_PATH}`, {
      method: 'POST',
      headers: { Authorization: pat, 'Content-Type': 'application/json' },
      body: JSON.stringify({ namespace: 'limits', name_prefix: 'archives_retention' }),
    }).then((response) => response.json());
    expect(body).toEqual({
      limits: { 'archives_retention.additional': 6, 'archives_retention.base': 12, 'archives_retention.hard': -1 },
    });
  });

  it('v3.6 simulator: list_archives from before retention answers limit_reached, or serves nothing older', async () => {
    const refusing = await startV36Simulator({
      from: '2026-08-01',
      to: '2026-11-19',
      chatsPerDay: 5,
      retention: { months: 2, beyond: 'limit_reached', today: '2026-11-20' },
    });
    const emptying = await startV36Simulator({
      from: '2026-08-01',
      to: '2026-11-19',
      chatsPerDay: 5,
      retention: { months: 2, beyond: 'empty', today: '2026-11-20' },
    });
    servers.push(refusing, emptying);
    const request = {
      filters: { from: '2026-09-19T00:00:00.000000Z', to: '2026-09-20T23:59:59.999999Z' },
      limit: 100,
      sortOrder: 'asc',
    } as const;
    const client = (sim: typeof refusing) =>
      createArchivesClient({
        apiUrl: sim.url,
        credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
        retryLimit: 0,
      });
    const error = await client(refusing)
      .listArchives(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LivechatRequestError);
    expect((error as Error).message).toContain('limit_reached');
    const page = await client(emptying).listArchives(request);
    expect(page.found_chats).toBe(emptying.chats('2026-09-20').length);
    expect(page.chats.every((chat) => chat.thread.created_at >= '2026-09-20')).toBe(true);
  });

  it('v2 simulator: GET /chats serves nothing older than retention', async () => {
    const sim = await startSimulator({
      from: '2026-09-01',
      to: '2026-11-19',
      chatsPerDay: 5,
      retention: { months: 2, today: '2026-11-20' },
    });
    servers.push(sim);
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials });
    const old = await client.listChats({ dateFrom: '2026-09-19', dateTo: '2026-09-19', timeZone: 'UTC', page: 1 });
    const kept = await client.listChats({ dateFrom: '2026-09-20', dateTo: '2026-09-20', timeZone: 'UTC', page: 1 });
    expect(sim.chats('2026-09-19').length).toBeGreaterThan(0);
    expect(old).toMatchObject({ total: 0, chats: [] });
    expect(kept.total).toBe(sim.chats('2026-09-20').length);
  });
});

describe('volume estimate', () => {
  const days = (counts: number[]) =>
    counts.map((count, i) => ({ day: `2026-11-${String(19 - i).padStart(2, '0')}`, count }));
  it('warns when v2 nears the 25 000-record cap, and names v3.6 hourly slicing above the threshold', () => {
    const near = volumeCheck({
      source: 'v2',
      timeZone: 'UTC',
      days: days([100, 100, 21_000, 100, 100, 100, 100]),
      lookbackDays: 3,
      busyDayThreshold: 2000,
    });
    expect(near.status).toBe('warning');
    expect(near.summary).toContain("v2's 25 000-record cap is near (84 %)");
    expect(near.summary).toContain('840 pages on the busiest day');
    const v36 = volumeCheck({
      source: 'v3.6',
      timeZone: 'UTC',
      days: days([100, 100, 21_000, 100, 100, 100, 100]),
      lookbackDays: 3,
      busyDayThreshold: 2000,
    });
    expect(v36.status).toBe('ok');
    expect(v36.summary).toContain('24 hourly slices');
    expect(v36.summary).toContain('cut into hourly slices');
    const quiet = volumeCheck({
      source: 'v2',
      timeZone: 'UTC',
      days: days([0, 0, 0, 0, 0, 0, 0]),
      lookbackDays: 3,
      busyDayThreshold: 2000,
    });
    expect(quiet.status).toBe('warning');
    expect(quiet.summary).toContain('no chats in the last 7 days');
  });
});

describe("LiveChat's documented list_license_properties examples", () => {
  const fixture = (path: string) =>
    readFileSync(new URL(`../fixtures/livechat-public-docs/${path}`, import.meta.url), 'utf8');

  it('reads the limits namespace example of the default-properties page (-1 = unlimited)', async () => {
    const limitsPage = fixture('src/pages/messaging/references/default-properties/limits-namespace.json');
    const retention = await readLicenseRetention({
      apiUrl: 'https://api.livechatinc.com',
      authorization: 'Bearer t',
      fetch: async () => new Response(limitsPage, { headers: { 'Content-Type': 'application/json' } }),
    });
    expect(retention).toEqual({ unlimited: true });
  });

  it('says nothing is known from an answer without the limits namespace (the method example)', async () => {
    const methodExample = fixture(
      'payloads/management/v3.6/configuration-api/responses/properties/listLicenseProperties.json',
    );
    const read = readLicenseRetention({
      apiUrl: 'https://api.livechatinc.com',
      authorization: 'Bearer t',
      retryLimit: 0,
      fetch: async () => new Response(methodExample, { headers: { 'Content-Type': 'application/json' } }),
    });
    await expect(read).rejects.toThrow(/not the documented shape/);
  });
});
