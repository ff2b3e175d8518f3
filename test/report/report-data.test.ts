import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LakeField } from '#lake/chat-columns.ts';
import { dayPlanKey } from '#lake/lake-layout.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { buildReportData } from '#report/build-report.ts';
import { optionalColumns } from '#report/lake-aggregates.ts';
import { needsAttention, type ReportData } from '#report/report-data.ts';
import { escapeHtml, jsonForScript, renderReportHtml } from '#report/report-html.ts';
import { reportSections } from '#report/report-sections.ts';
import { DAY0, DAY1, DAY2, FIXTURE_PAGES, writeFixtureLake, writeGzipPage } from '#test/lake/fixtures/chat-lake.ts';

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
    expect(data.agents).toEqual([
      { email: 'alice@example.com', name: 'Alice Agent', chats: 3 },
      { email: 'bob@example.com', name: "Bob O'Brien", chats: 3 },
    ]);
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
    expect(data.notes).toEqual([expect.stringMatching(/^1 manifest file\(s\) could not be read .*broken\.json/)]);
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

  it('keeps only the days of --from/--to', async () => {
    const data = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused', from: DAY2, to: DAY2 });
    expect(data.daily.map((d) => d.day)).toEqual([DAY2]);
    expect(data.totals.chats).toBe(3);
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
      'completeness',
      'chats-per-day',
      'weekday-hour',
      'agents',
      'ratings',
      'timing',
      'tags',
      'countries',
      'runs',
    ]);
  });
});

describe('HTML', () => {
  it('escapes lake text in markup and in inlined JSON', async () => {
    const base = await buildReportData({ lakeDir: await fixtureLake(), outDir: 'unused' });
    const data: ReportData = {
      ...base,
      agents: [{ email: 'x@example.com', name: '</script><img src=x onerror=alert(1)>', chats: 1 }],
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
