import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS } from '#lake/named-queries.ts';
import { buildReportData } from '#report/build-report.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';

const FROM = '2026-05-01';
const TO = '2026-05-03';

/** The report of a lake archived through the real CLI equals the named queries, and every day is complete. */
async function expectReportMatchesLake(lakeDir: string, chatsPerDay: (day: string) => number): Promise<void> {
  const data = await buildReportData({ lakeDir, outDir: 'unused' });
  expect([data.from, data.to]).toEqual([FROM, TO]);
  expect(data.completeness.map((d) => [d.day, d.status, d.expected, d.archived])).toEqual(
    ['2026-05-01', '2026-05-02', '2026-05-03'].map((day) => [day, 'complete', chatsPerDay(day), chatsPerDay(day)]),
  );
  expect(data.runs).toHaveLength(1);
  expect(data.runs[0]).toMatchObject({ complete: true, days: 3 });
  const lake = await openLocalLake(lakeDir);
  try {
    const perDay = await lake.runNamed('chats_per_day', ALL_DAYS);
    expect(data.daily.map((d) => [d.day, d.total, d.regular, d.missed])).toEqual(
      perDay.map((row) => [row['dt'], row['total_chats'], row['regular_chats'], row['missed_chats']]),
    );
    const responses = (await lake.runNamed('first_response_time', ALL_DAYS)).filter((r) => r['day_or_total'] !== 'ALL');
    expect(data.daily.map((d) => [d.day, d.withResponse, d.firstResponseP50])).toEqual(
      responses.map((r) => [r['day_or_total'], r['chats_with_response'], r['p50_first_response_s']]),
    );
  } finally {
    await lake.close();
  }
  expect(data.agents.length).toBeGreaterThan(0);
  expect(data.heatmap.reduce((sum, cell) => sum + cell.chats, 0)).toBe(data.totals.chats);
}

describe('the report reads lakes of both sources', () => {
  it('REST API v2 (GET /chats)', async () => {
    const sim = await startSimulator({ from: FROM, to: TO, seed: 5, chatsPerDay: 40 });
    try {
      const out = await mkdtemp(join(tmpdir(), 'report-v2-'));
      const { code } = await runArchiveCli(['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url], {
        LIVECHAT_LOGIN: sim.login,
        LIVECHAT_API_KEY: sim.apiKey,
      });
      expect(code).toBe(EXIT.ok);
      await expectReportMatchesLake(out, (day) => sim.chats(day).length);
    } finally {
      await sim.close();
    }
  });

  it('Agent Chat Web API v3.6 (list_archives)', async () => {
    const sim = await startV36Simulator({ from: FROM, to: TO, seed: 3, chatsPerDay: 40 });
    try {
      const out = await mkdtemp(join(tmpdir(), 'report-v36-'));
      const { code } = await runArchiveCli(
        ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
        { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
        { v36Overrides: { pageLimit: 20 } },
      );
      expect(code).toBe(EXIT.ok);
      await expectReportMatchesLake(out, (day) => sim.chats(day).length);
    } finally {
      await sim.close();
    }
  });
});
