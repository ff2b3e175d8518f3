import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { lifecycleReport } from '#handlers/api-lifecycle-report.ts';
import { type ApiLifecycleNotice, daysUntil, lifecycleDate, lifecycleWarning } from '#sources/api-lifecycle.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';

// Header semantics: livechat-public-docs src/pages/messaging/index.mdx ("Versioning": legacy and
// deprecated responses carry `Legacy` / `Deprecation` with the YYYY-MM-DD the stage ends).
describe('lifecycle header values', () => {
  it.each([
    ['2027-03-01', '2027-03-01'],
    ['@1804118400', '2027-03-04'],
    ['Mon, 01 Mar 2027 00:00:00 GMT', '2027-03-01'],
    ['2027-02-30', undefined],
    ['soon', undefined],
  ])('reads %j as %j', (value, endsOn) => {
    expect(lifecycleDate(value)).toBe(endsOn);
  });

  it('counts whole days left from today (UTC)', () => {
    expect(daysUntil('2027-03-01', new Date('2026-12-01T23:59:00Z'))).toBe(90);
    expect(daysUntil('2026-11-30', new Date('2026-12-01T00:00:00Z'))).toBe(-1);
  });

  it('says which header, which date and how many days are left', () => {
    const notice: ApiLifecycleNotice = { header: 'Legacy', value: '2027-03-01', endsOn: '2027-03-01', path: '/chats' };
    expect(lifecycleWarning(notice, new Date('2027-01-30T10:00:00Z'))).toBe(
      'LiveChat API responses carry "Legacy: 2027-03-01": this API version is legacy and becomes deprecated after 2027-03-01 (30 days left); --source v3.6 (source "v3.6" on AWS) reads LiveChat\'s stable API',
    );
  });
});

describe('v3.6 list_archives responses', () => {
  it('are read for lifecycle headers too', async () => {
    const notices: ApiLifecycleNotice[] = [];
    const client = createArchivesClient({
      apiUrl: 'http://livechat.test.invalid',
      credentials: { kind: 'bearer', token: 't' },
      onLifecycle: (notice) => notices.push(notice),
      fetch: async () =>
        new Response(JSON.stringify({ chats: [], found_chats: 0 }), {
          status: 200,
          headers: { 'Content-Type': 'application/json', Deprecation: '2027-06-30' },
        }),
    });
    await client.listArchives({ filters: { from: 'a', to: 'b' }, limit: 1, sortOrder: 'asc' });
    expect(notices).toEqual([
      { header: 'Deprecation', value: '2027-06-30', endsOn: '2027-06-30', path: '/v3.6/agent/action/list_archives' },
    ]);
  });
});

describe('worker lifecycle report', () => {
  it('logs one warning and publishes ApiDaysLeft once per invocation, however many responses carry the header', () => {
    const logger = new Logger({ logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    const warn = vi.spyOn(logger, 'warn');
    const addMetric = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    const report = lifecycleReport(logger, metrics, () => new Date('2027-01-30T10:00:00Z'));
    const notice: ApiLifecycleNotice = {
      header: 'Deprecation',
      value: '2027-03-01',
      endsOn: '2027-03-01',
      path: '/chats',
    };
    for (let response = 0; response < 5; response += 1) report.onLifecycle(notice);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/"Deprecation: 2027-03-01".*30 days left/);
    expect(addMetric.mock.calls).toEqual([['ApiDaysLeft', 'Count', 30]]);
    report.newInvocation();
    report.onLifecycle(notice);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(addMetric).toHaveBeenCalledTimes(2);
  });
});
