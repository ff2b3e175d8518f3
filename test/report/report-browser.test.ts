/**
 * The HTML report in a real browser (Debian's headless Chromium through puppeteer-core): the
 * demo's report renders every chart with no console error and no request, its numbers equal
 * DuckDB's named queries over the same lake, and a damaged day stands out.
 *
 * Saves a full-page screenshot to $REPORT_SCREENSHOT (`npm run report:screenshot` writes the
 * README's docs/report-screenshot.png), else to a temp folder. Fails, never skips, without Chromium.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TIME_ZONE, demoCommand } from '#cli/demo-command.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS } from '#lake/named-queries.ts';
import { describeFilters, filtersRecordKey } from '#pipeline/lake-filters.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { writeReport } from '#report/build-report.ts';
import { optionalColumns } from '#report/lake-aggregates.ts';
import { launchChromium, type PageLog, watchPage } from '#test/support/browser.ts';
import { capture } from '#test/support/cli-runner.ts';
import { loseChats } from '#test/support/lose-chats.ts';

const TODAY = '2026-11-25';
const SECTIONS = [
  'completeness',
  'chats-per-day',
  'weekday-hour',
  'agents',
  'ratings',
  'timing',
  ...(optionalColumns().tags ? ['tags'] : []),
  ...(optionalColumns().country ? ['countries'] : []),
  'runs',
];

let browser: Browser;
let lakeDir: string;
let reportFile: string;

beforeAll(async () => {
  browser = await launchChromium();
  const root = await mkdtemp(join(tmpdir(), 'report-browser-'));
  lakeDir = join(root, 'lake');
  const stdout = capture();
  const code = await demoCommand({ lakeDir, stdout: stdout.stream, stderr: capture().stream, today: TODAY });
  expect(code).toBe(0);
  reportFile = /HTML report \(open it in a browser\): (.+)$/m.exec(stdout.text())?.[1] ?? '';
  expect(reportFile).toBe(join(root, 'report', 'report.html'));
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Opens a report from file:// and waits until Vega says every chart is drawn. */
async function openReport(file: string): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  const log = watchPage(page);
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  await page.waitForSelector('body:not([data-report-state="loading"])', { timeout: 20_000 });
  expect(await page.$eval('body', (body) => body.dataset['reportState'])).toBe('rendered');
  return { page, log };
}

type Rows = string[][];
type Text = { textContent: string | null };
type Group = { children: { length: number } };

async function tableRows(page: Page, section: string): Promise<Rows> {
  return page.$$eval(`section[data-section="${section}"] table tbody tr`, (rows) =>
    // No DOM lib in tsconfig: elements are typed structurally.
    rows.map((row) => Array.from(row.querySelectorAll('td'), (cell) => (cell as Text).textContent ?? '')),
  );
}

/** A number as the page prints it ("1,234", "12.5 %", "—"), without the ⚠ of a flagged row. */
function num(text: string): number | null {
  const cleaned = text.replace('⚠', '').replace('%', '').replaceAll(',', '').trim();
  return cleaned === '—' ? null : Number(cleaned);
}

const oneDecimal = (value: unknown) =>
  value === null || value === undefined ? null : Number(Number(value).toFixed(1));

// A cold browser on a loaded 2-core CI machine: generous limits, no timing asserted.
describe('HTML report in headless Chromium', { timeout: 60_000 }, () => {
  it('renders every section with marks, logs no console error and makes no request but the file itself', async () => {
    const { page, log } = await openReport(reportFile);
    try {
      const marks = await page.$$eval('section[data-section]', (sections) =>
        sections.map((section) => ({
          id: section.getAttribute('data-section'),
          marks: Array.from(section.querySelectorAll('svg .role-mark')).reduce(
            (n: number, g) => n + (g as Group).children.length,
            0,
          ),
        })),
      );
      expect(marks.map((m) => m.id)).toEqual(SECTIONS);
      for (const section of marks) expect(section.marks, section.id ?? '').toBeGreaterThan(0);
      expect(log.consoleErrors).toEqual([]);
      expect(log.requests).toEqual([pathToFileURL(reportFile).href]);

      const screenshot = resolve(process.env['REPORT_SCREENSHOT'] ?? join(dirname(reportFile), 'report.png'));
      await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
      expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await page.close();
    }
  });

  it('shows the same numbers as DuckDB named queries over the lake, and the run manifest', async () => {
    const { page } = await openReport(reportFile);
    const lake = await openLocalLake(lakeDir);
    try {
      const perDay = await lake.runNamed('chats_per_day', ALL_DAYS);
      expect(perDay.length).toBe(7);
      const shownPerDay = await tableRows(page, 'chats-per-day');
      expect(shownPerDay.map((row) => [row[0], num(row[1]!), num(row[2]!), num(row[3]!)])).toEqual(
        perDay.map((row) => [row['dt'], row['total_chats'], row['regular_chats'], row['missed_chats']]),
      );
      const total = perDay.reduce((sum, row) => sum + Number(row['total_chats']), 0);
      expect(num(await page.$eval('[data-kpi="chats"] dd', (dd) => dd.textContent ?? ''))).toBe(total);

      const timing = await tableRows(page, 'timing');
      const durations = (await lake.runNamed('duration_stats', ALL_DAYS)).filter(
        (row) => row['day_or_total'] !== 'ALL',
      );
      const responses = (await lake.runNamed('first_response_time', ALL_DAYS)).filter(
        (row) => row['day_or_total'] !== 'ALL',
      );
      expect(timing.map((row) => [row[0], num(row[1]!), num(row[2]!), num(row[3]!)])).toEqual(
        responses.map((row) => [
          row['day_or_total'],
          row['chats_with_response'],
          oneDecimal(row['p50_first_response_s']),
          oneDecimal(row['p90_first_response_s']),
        ]),
      );
      expect(timing.map((row) => [row[0], num(row[4]!), num(row[5]!), num(row[6]!)])).toEqual(
        durations.map((row) => [
          row['day_or_total'],
          row['chats'],
          oneDecimal(row['p50_duration_s']),
          oneDecimal(row['p90_duration_s']),
        ]),
      );

      const ratings = await tableRows(page, 'ratings');
      const sumColumn = (index: number) => ratings.reduce((sum, row) => sum + (num(row[index]!) ?? 0), 0);
      const share = Object.fromEntries(
        (await lake.runNamed('rating_share', ALL_DAYS)).map((row) => [row['rating'], row['chats']]),
      );
      expect({ good: sumColumn(1), bad: sumColumn(2), not_rated: sumColumn(3) }).toEqual(share);

      const agentChats = new Map<string, number>();
      for (const row of await lake.runNamed('chats_per_agent_per_day', ALL_DAYS)) {
        const email = String(row['agent_email']);
        agentChats.set(email, (agentChats.get(email) ?? 0) + Number(row['chats']));
      }
      const shownAgents = await tableRows(page, 'agents');
      expect(new Map(shownAgents.map((row) => [row[1]!, num(row[2]!)]))).toEqual(agentChats);

      // Completeness against the run manifest the archive run wrote, read as plain JSON.
      const manifests = readdirSync(join(lakeDir, 'manifests', 'runs')).filter((file) => file.endsWith('.json'));
      expect(manifests.length).toBe(1);
      const manifest = JSON.parse(
        readFileSync(join(lakeDir, 'manifests', 'runs', manifests[0]!), 'utf8'),
      ) as RunManifest;
      // Weekday × hour (in the zone the run cut days in), tags and countries recounted in JS from the chats.
      expect(manifest.timeZone).toBe(DEMO_TIME_ZONE);
      expect(await page.$eval('#weekday-hour h2', (h2) => h2.textContent)).toContain(`(${DEMO_TIME_ZONE})`);
      const wallClock = new Intl.DateTimeFormat('en-US', {
        timeZone: manifest.timeZone,
        weekday: 'short',
        hour: 'numeric',
        hourCycle: 'h23',
      });
      const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
      const columns = optionalColumns();
      const chats = await lake.query<{ started_timestamp: number; tags?: string[] | null; country?: string | null }>(
        `SELECT started_timestamp${columns.tags ? ', tags' : ''}${columns.country ? `, ${columns.country} AS country` : ''}
           FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "_archived_at" DESC) AS r FROM chats) WHERE r = 1`,
      );
      const expectedCells = Array.from({ length: 7 }, () => Array<number>(24).fill(0));
      const tags = new Map<string, number>();
      const countries = new Map<string, number>();
      const add = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
      for (const chat of chats) {
        const parts = wallClock.formatToParts(new Date(chat.started_timestamp * 1000));
        const part = (type: string) => parts.find((p) => p.type === type)!.value;
        expectedCells[WEEKDAYS.indexOf(part('weekday'))]![Number(part('hour'))]! += 1;
        for (const tag of new Set(chat.tags ?? [])) add(tags, tag);
        add(countries, chat.country || '(unknown)');
      }
      const heatmap = await tableRows(page, 'weekday-hour');
      expect(heatmap.map((row) => row.slice(1).map((cell) => num(cell)))).toEqual(expectedCells);
      // The demo has fewer tags and countries than the report's top 20, so every one is listed.
      if (columns.tags) {
        const shown = await tableRows(page, 'tags');
        expect(new Map(shown.map((row) => [row[0]!, num(row[1]!)]))).toEqual(tags);
      }
      if (columns.country) {
        const shown = await tableRows(page, 'countries');
        expect(new Map(shown.map((row) => [row[0]!, num(row[1]!)]))).toEqual(countries);
      }

      const completeness = await tableRows(page, 'completeness');
      expect(completeness.map((row) => [row[0], num(row[1]!), num(row[2]!), row[4]])).toEqual(
        manifest.days.map((day) => [day.day, day.expectedTotal, day.chatsWritten, 'complete']),
      );
      const runs = await tableRows(page, 'runs');
      expect(runs.map((row) => [row[0], num(row[3]!), num(row[4]!), num(row[5]!), num(row[6]!)])).toEqual([
        [manifest.runId, manifest.totals.pages, manifest.totals.chats, manifest.totals.retries, manifest.totals.drift],
      ]);
    } finally {
      await lake.close();
      await page.close();
    }
  });

  it('fails, not skips, when the browser is missing', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(
      /^Chromium not found at \/nonexistent\/chromium: install it with apt-get install -y chromium/,
    );
  });

  it('says so, above the numbers, when the lake is filtered (and not when it is not)', async () => {
    const unfiltered = await openReport(reportFile);
    try {
      expect(await unfiltered.page.$('#lake-filters')).toBeNull();
    } finally {
      await unfiltered.page.close();
    }
    const filtered = join(await mkdtemp(join(tmpdir(), 'report-filtered-')), 'lake');
    cpSync(lakeDir, filtered, { recursive: true });
    rmSync(join(filtered, 'manifests', 'filters'), { recursive: true });
    const filters = { type: 'missed_chat' as const, group: 2 };
    const record = join(filtered, filtersRecordKey(filters));
    mkdirSync(dirname(record), { recursive: true });
    writeFileSync(record, JSON.stringify({ filters: describeFilters(filters) }));
    const { file } = await writeReport({ lakeDir: filtered, outDir: join(dirname(filtered), 'report') });
    const { page, log } = await openReport(file);
    try {
      const note = await page.$eval('#lake-filters', (p) => ({
        text: (p as Text).textContent,
        visible: (p as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect().height > 0,
      }));
      expect(note.visible).toBe(true);
      expect(note.text).toMatch(/^Filtered lake: it holds only the chats matching group=2&type=missed_chat/);
      expect(log.consoleErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('marks a day that lost a page file, in the chart (✗) and in text', async () => {
    const damaged = join(await mkdtemp(join(tmpdir(), 'report-damaged-')), 'lake');
    cpSync(lakeDir, damaged, { recursive: true });
    const day = '2026-11-20';
    loseChats(damaged, day, 25);
    const { file } = await writeReport({ lakeDir: damaged, outDir: join(dirname(damaged), 'report') });
    const { page, log } = await openReport(file);
    try {
      const row = (await tableRows(page, 'completeness')).find((cells) => cells[0]!.includes(day));
      expect(row?.[0]).toBe(`⚠ ${day}`);
      expect(row?.[4]).toMatch(/^short: 25 chat\(s\) missing from the lake$/);
      const flags = await page.$$eval(
        'section[data-section="completeness"] svg text',
        (texts) => texts.filter((text) => text.textContent === '✗').length,
      );
      expect(flags).toBe(1);
      expect(await page.$eval('[data-kpi="incomplete"] dd', (dd) => dd.textContent)).toBe('⚠ 1');
      expect(log.consoleErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
