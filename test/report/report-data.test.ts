import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compactCommand } from '#cli/compact-command.ts';
import type { LakeField } from '#lake/chat-columns.ts';
import { dayPlanKey } from '#lake/lake-layout.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { buildReportData, lastRange } from '#report/build-report.ts';
import { optionalColumns } from '#report/lake-aggregates.ts';
import { needsAttention, type ReportData } from '#report/report-data.ts';
import {
  formatCountChange,
  formatDay,
  formatDuration,
  formatDurationChange,
  formatInstant,
  formatPercent,
  formatPointsChange,
  formatRange,
} from '#report/report-format.ts';
import { escapeHtml, jsonForScript, renderReportHtml } from '#report/report-html.ts';
import { reportSections } from '#report/report-sections.ts';
import { addDays, localDay } from '#shared/day-range.ts';
import { startSimulator } from '#simulator/index.ts';
import { DAY0, DAY1, DAY2, FIXTURE_PAGES, writeFixtureLake, writeGzipPage } from '#test/lake/fixtures/chat-lake.ts';
import { capture } from '#test/support/cli-runner.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

async function fixtureLake(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'report-fixture-'));
  await writeFixtureLake(dir);
  return dir;
}

describe('report data from the fixture lake (known answers)', () => {
  it('aggregates each day as the named queries define it, latest copy of each chat', async () => {
    const data = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused' });
    expect([data.from, data.to]).toEqual([DAY0, DAY2]); // DAY0 was planned, nothing archived
    expect(data.totals).toEqual({ chats: 7, regular: 5, missed: 2, agents: 2, daysWithChats: 2 });
    expect(data.daily).toEqual([
      {
        day: DAY1,
        total: 4,
        regular: 3,
        missed: 1,
        ratedGood: 1,
        ratedBad: 1,
        notRated: 1,
        withResponse: 3,
        firstResponseP50: 30,
        firstResponseP90: 54,
        withDuration: 3,
        durationP50: 600,
        durationP90: 1080,
      },
      {
        day: DAY2,
        total: 3,
        regular: 2,
        missed: 1,
        ratedGood: 2, // C7's latest copy (run-2) is rated good
        ratedBad: 0,
        notRated: 0,
        withResponse: 2,
        firstResponseP50: 17.5,
        firstResponseP90: 19.5,
        withDuration: 2,
        durationP50: 675,
        durationP90: 855,
      },
    ]);
    expect(data.agents.map((a) => [a.email, a.name, a.current.chats, a.previous])).toEqual([
      ['alice@example.com', 'Alice Agent', 3, null], // the previous period (3 days before DAY0) is not archived
      ['bob@example.com', "Bob O'Brien", 3, null],
    ]);
    expect(data.previous).toEqual({ from: '2024-02-26', to: '2024-02-28', days: 3, daysArchived: 0 });
    expect(data.notes).toContain('the previous period (2024-02-26 to 2024-02-28) is not archived: no change is shown');
    // The headline figures are the days' sums: 7 chats, 2 missed, 3 good and 1 bad among the rated.
    expect(data.headline.current).toMatchObject({ chats: 7, regular: 5, missed: 2, ratedGood: 3, ratedBad: 1 });
    expect(data.headline.previous).toBeNull();
    const busy = data.heatmap.filter((cell) => cell.chats > 0);
    expect(busy).toEqual([
      { weekday: 5, hour: 8, chats: 1 }, // Friday 2024-03-01, UTC: no run recorded a zone
      { weekday: 5, hour: 9, chats: 1 },
      { weekday: 5, hour: 10, chats: 1 },
      { weekday: 5, hour: 11, chats: 1 },
      { weekday: 6, hour: 9, chats: 2 },
      { weekday: 6, hour: 10, chats: 1 },
    ]);
    expect(data.heatmap).toHaveLength(7 * 24);
  });

  it('judges each day by its latest day plan: missing chats, duplicates, complete', async () => {
    const data = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused' });
    expect(data.completeness.map((d) => [d.day, d.expected, d.archived, d.duplicates, d.status, d.runId])).toEqual([
      [DAY0, 2, 0, 0, 'short', 'run-1'],
      [DAY1, 4, 4, 0, 'complete', 'run-1'],
      [DAY2, 3, 3, 1, 'duplicates', 'run-2'], // C7 written by run-1 and run-2
    ]);
    expect(data.runs.map((r) => [r.runId, r.days, r.rowsInLake, r.pages, r.complete])).toEqual([
      ['run-1', 3, 7, null, null],
      ['run-2', 1, 1, null, null],
    ]);
  });

  it('reads a day npm run prune emptied as expired (retention), not as missing, and does not count it', async () => {
    const lakeDir = await fixtureLake();
    const partition = join(lakeDir, 'chats', `dt=${DAY1}`);
    const old = new Date(Date.now() - 400 * 86_400_000);
    for (const file of readdirSync(partition)) utimesSync(join(partition, file), old, old);
    await pruneLocalLake({ dir: lakeDir, olderThanDays: 365 });
    const data = await buildReportData({ lakeDir, outDir: 'unused' });
    expect(data.completeness.map((d) => [d.day, d.expected, d.archived, d.status])).toEqual([
      [DAY0, 2, 0, 'short'],
      [DAY1, 4, 0, 'expired (retention)'],
      [DAY2, 3, 3, 'duplicates'],
    ]);
    expect(data.completeness.filter((d) => needsAttention(d.status)).map((d) => d.day)).toEqual([DAY0, DAY2]);
  });

  it('calls days with chats but no plan unplanned, and lists runs known only from the lake', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'report-no-plans-'));
    for (const page of FIXTURE_PAGES) writeGzipPage(lakeDir, page);
    const data = await buildReportData({ lakeDir, outDir: 'unused' });
    expect(data.completeness.map((d) => [d.day, d.expected, d.archived, d.status])).toEqual([
      [DAY1, null, 4, 'unplanned'],
      [DAY2, null, 3, 'unplanned'],
    ]);
    expect(data.runs.map((r) => [r.runId, r.days, r.rowsInLake, r.startedAt])).toEqual([
      ['run-1', null, 7, '2024-03-03T01:00:00.000Z'],
      ['run-2', null, 1, '2024-03-04T01:00:00.000Z'],
    ]);
  });

  it('compares each day with its latest day plan (day_completeness) and the newer run manifest', async () => {
    const lakeDir = await fixtureLake();
    const runs = join(lakeDir, 'manifests', 'runs');
    mkdirSync(runs, { recursive: true });
    const day = (d: string, status: string, expectedTotal: number) => ({
      day: d,
      status,
      expectedTotal,
      pages: 1,
      chatsWritten: expectedTotal,
      attempts: 1,
      driftSeen: 0,
      ...(status === 'complete' ? {} : { problem: 'kept changing after 5 attempts' }),
    });
    writeFileSync(
      join(runs, 'local-1.json'),
      JSON.stringify({
        runId: 'local-1',
        startedAt: '2024-03-03T01:00:00.000Z',
        finishedAt: '2024-03-03T01:05:00.000Z',
        lake: lakeDir,
        filters: {},
        complete: false,
        totals: { days: 3, daysComplete: 1, pages: 3, chats: 9, drift: 0, retries: 3 },
        days: [day(DAY1, 'complete', 4), day(DAY2, 'complete', 3), day('2024-03-04', 'failed', 2)],
      }),
    );
    // Day plans of a queued (AWS) run, in the layout the archiver writes (lake-layout.ts dayPlanKey).
    const plan = (d: string, total: number, plannedAt: string) => {
      const file = join(lakeDir, dayPlanKey('aws-run', d, 1));
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(
        file,
        JSON.stringify({ runId: 'aws-run', day: d, attempt: 1, source: 'v2', total, units: 1, plannedAt }),
      );
    };
    plan('2024-03-03', 6, '2024-03-04T00:00:00Z'); // no chat file: the lake misses all 6
    plan(DAY2, 3, '2024-03-05T00:00:00Z'); // newer than local-1: the plan is the word on DAY2
    writeFileSync(join(runs, 'broken.json'), '{ not json');

    const data = await buildReportData({ lakeDir, outDir: 'unused', to: '2024-03-05' });
    expect(data.completeness.map((d) => [d.day, d.expected, d.archived, d.duplicates, d.status])).toEqual([
      [DAY0, 2, 0, 0, 'short'],
      [DAY1, 4, 4, 0, 'complete'],
      [DAY2, 3, 3, 1, 'duplicates'], // C7 twice (run-1 and run-2)
      ['2024-03-03', 6, 0, 0, 'short'],
      ['2024-03-04', 2, 0, 0, 'incomplete'],
      ['2024-03-05', null, 0, 0, 'not_archived'],
    ]);
    expect(data.completeness.map((d) => d.problem)).toEqual([
      '2 chat(s) missing from the lake',
      null,
      '1 extra copies of chats',
      '6 chat(s) missing from the lake',
      'kept changing after 5 attempts',
      'no day plan and no chats: no run archived this day',
    ]);
    expect(data.runs.map((r) => [r.runId, r.days, r.pages, r.retries, r.complete])).toEqual([
      ['run-1', 3, null, null, null], // planned from 2024-03-03T00:59
      ['local-1', 3, 3, 3, false],
      ['aws-run', 2, null, null, null],
      ['run-2', 1, null, null, null],
    ]);
    expect(data.notes).toEqual([
      expect.stringMatching(/^1 manifest file\(s\) could not be read .*broken\.json/),
      'the previous period (2024-02-23 to 2024-02-28) is not archived: no change is shown',
    ]);
  });

  it('counts weekday × hour in the time zone the runs cut days in', async () => {
    const lakeDir = await fixtureLake();
    mkdirSync(join(lakeDir, 'manifests', 'runs'), { recursive: true });
    writeFileSync(
      join(lakeDir, 'manifests', 'runs', 'tokyo.json'),
      JSON.stringify({
        runId: 'tokyo',
        startedAt: '2024-03-03T01:00:00.000Z',
        finishedAt: '2024-03-03T01:05:00.000Z',
        timeZone: 'Asia/Tokyo',
        complete: true,
        totals: { retries: 0 },
        days: [
          { day: DAY1, status: 'complete', expectedTotal: 4, pages: 1, chatsWritten: 4, attempts: 1, driftSeen: 0 },
        ],
      }),
    );
    const data = await buildReportData({ lakeDir, outDir: 'unused' });
    expect(data.timeZone).toBe('Asia/Tokyo');
    // Friday 2024-03-01 08:00–11:00 UTC is 17:00–20:00 in Tokyo; Saturday 09:00–10:00 UTC is 18:00–19:00.
    expect(data.heatmap.filter((cell) => cell.chats > 0)).toEqual([
      { weekday: 5, hour: 17, chats: 1 },
      { weekday: 5, hour: 18, chats: 1 },
      { weekday: 5, hour: 19, chats: 1 },
      { weekday: 5, hour: 20, chats: 1 },
      { weekday: 6, hour: 18, chats: 2 },
      { weekday: 6, hour: 19, chats: 1 },
    ]);
    expect(renderReportHtml(data)).toContain('When chats start: weekday × hour (Asia/Tokyo)');
  });

  it('compares with the previous period of equal length, from the same lake', async () => {
    const data = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused', from: DAY2, to: DAY2 });
    expect(data.previous).toEqual({ from: DAY1, to: DAY1, days: 1, daysArchived: 1 });
    expect(data.headline.previous).toEqual({
      chats: 4,
      regular: 3,
      missed: 1,
      ratedGood: 1,
      ratedBad: 1,
      withResponse: 3,
      firstResponseP50: 30,
      firstResponseP90: 54,
      durationP50: 600,
    });
    expect(data.headline.current).toMatchObject({ chats: 3, regular: 2, missed: 1, ratedGood: 2, ratedBad: 0 });
    // Each agent's figures of the day before, zero for an agent who had no chat then.
    expect(data.agents.map((a) => [a.email, a.current.chats, a.previous?.chats])).toEqual(
      expect.arrayContaining([['alice@example.com', expect.any(Number), expect.any(Number)]]),
    );
    for (const agent of data.agents) expect(agent.previous).not.toBeNull();
    expect(data.notes).toEqual([]);
  });

  it('--last names the days that ended yesterday in the lake zone, or the last full quarter', async () => {
    expect(lastRange('7d', '2026-11-25')).toEqual({ from: '2026-11-18', to: '2026-11-24' });
    expect(lastRange('30d', '2026-03-01')).toEqual({ from: '2026-01-30', to: '2026-02-28' });
    expect(lastRange('quarter', '2026-12-05')).toEqual({ from: '2026-07-01', to: '2026-09-30' });
    expect(lastRange('quarter', '2026-01-01')).toEqual({ from: '2025-10-01', to: '2025-12-31' });
    const quarter = await buildReportData({
      lakeDir: await fixtureLake(),
      outDir: 'unused',
      last: 'quarter',
      now: () => new Date('2024-05-10T12:00:00Z'),
    });
    expect([quarter.from, quarter.to, quarter.rangeLabel]).toEqual(['2024-01-01', '2024-03-31', '--last quarter']);
    expect(quarter.previous).toMatchObject({ from: '2023-10-01', to: '2023-12-31', daysArchived: 0 });
    expect(quarter.totals.chats).toBe(7);
  });

  it('keeps only the days of --from/--to', async () => {
    const data = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused', from: DAY2, to: DAY2 });
    expect(data.daily.map((d) => d.day)).toEqual([DAY2]);
    expect(data.totals.chats).toBe(3);
  });
});

describe('a compacted lake (npm run compact)', () => {
  it('gives the same report as before compaction: the Parquet days count as days with chats', async () => {
    const today = localDay(new Date(), 'UTC');
    const days = [addDays(today, -3), addDays(today, -2)];
    const sim = await startSimulator({ from: days[0]!, to: days[1]!, chatsPerDay: () => 40, seed: 5 });
    try {
      const { out } = await archiveLocally(sim, days);
      const before = await buildReportData({ lakeDir: out, outDir: 'unused' });
      const code = await compactCommand(['--lake', out], { stdout: capture().stream, stderr: capture().stream });
      expect(code).toBe(0);
      expect(
        readdirSync(join(out, 'chats'), { recursive: true }).filter((f) => String(f).endsWith('.json.gz')),
      ).toEqual([]);
      const after = await buildReportData({ lakeDir: out, outDir: 'unused' });
      expect(after.totals.chats).toBe(80);
      expect(after.headline).toEqual(before.headline);
      expect(after.agents).toEqual(before.agents);
      expect(after.completeness.map((d) => d.status)).toEqual(['complete', 'complete']);
    } finally {
      await sim.close();
    }
  });
});

describe('optional sections', () => {
  const field = (name: string, type: LakeField['type']): LakeField => ({ name, type, comment: '' });

  it('appear when the schema has tags and a visitor country, and not before', () => {
    expect(optionalColumns([field('id', { kind: 'string' })])).toEqual({});
    const schema = [
      field('tags', { kind: 'array', element: { kind: 'string' } }),
      field('visitor', { kind: 'struct', fields: [field('country', { kind: 'string' })] }),
    ];
    expect(optionalColumns(schema)).toEqual({ tags: 'tags', country: 'visitor.country' });
  });

  it('are rendered from tag and country counts', async () => {
    const data: ReportData = {
      ...(await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused' })),
      tags: [{ name: 'billing', chats: 4 }],
      countries: [{ name: 'Poland', chats: 2 }],
    };
    const ids = reportSections(data).map((s) => s.id);
    expect(ids).toEqual([
      'agents',
      'groups',
      'timing',
      'ratings',
      'chats-per-day',
      'weekday-hour',
      'missed-hours',
      'survey',
      'prechat',
      'tags',
      'countries',
      'completeness',
      'attachments',
      'runs',
    ]);
  });
});

describe('human units', () => {
  it('durations, shares, changes, days and instants', () => {
    expect([45, 59.4, 107, 599.6, 3599, 7500, 86_399].map(formatDuration)).toEqual([
      '45s',
      '59s',
      '1m 47s',
      '10m 00s',
      '59m 59s',
      '2h 05m',
      '24h 00m',
    ]);
    expect(formatPercent(14.4766)).toBe('14.5%');
    expect(formatCountChange(449, 453)).toBe('−4 (−0.9%)');
    expect(formatCountChange(12, 0)).toBe('+12');
    expect(formatPointsChange(3.94)).toBe('+3.9 pp');
    expect(formatDurationChange(-7.2)).toBe('−7s');
    expect(formatDurationChange(62)).toBe('+1m 02s');
    expect(formatDay('2026-11-23')).toBe('Mon 23 Nov 2026');
    expect(formatRange('2026-11-16', '2026-11-22')).toBe('Mon 16 Nov – Sun 22 Nov 2026');
    expect(formatInstant('2026-11-25T12:00:00Z', 'Europe/Warsaw')).toBe('2026-11-25 13:00');
    expect(formatInstant('2026-07-01T12:00:00Z', 'Europe/Warsaw')).toBe('2026-07-01 14:00');
  });
});

describe('HTML', () => {
  it('escapes lake text in markup and in inlined JSON', async () => {
    const base = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused' });
    const data: ReportData = {
      ...base,
      agents: [{ ...base.agents[0]!, email: 'x@example.com', name: '</script><img src=x onerror=alert(1)>' }],
    };
    const html = renderReportHtml(data);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain(escapeHtml('</script><img src=x onerror=alert(1)>'));
    expect(jsonForScript({ a: '</script><!--' })).toBe('{"a":"\\u003c/script>\\u003c!--"}');
    // Only the page's own two scripts and the JSON specs: nothing in the data closed a script element early.
    expect(html.match(/<script>/g)).toHaveLength(2);
    expect(html).toContain("default-src 'none'");
  });
});
