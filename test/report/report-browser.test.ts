/**
 * The HTML report in a real browser (Debian's headless Chromium through puppeteer-core, which
 * test/support/provision-browser.ts installs on a fresh machine): a two-week demo lake, reported
 * with `--last 7d`, renders every chart with no console error and no request; its sections come
 * in the order a support lead reads them; its numbers (kept exact in `data-value`) equal DuckDB's
 * named queries, for this period and the previous one, and independent counts in JavaScript; the
 * text is in human units; the charts read right; a damaged and a pruned day stand out as they should.
 *
 * Saves a full-page screenshot to $REPORT_SCREENSHOT (`npm run report:screenshot` writes the
 * README's docs/report-screenshot.png), else to a temp folder. Fails, never skips, without Chromium.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TIME_ZONE, demoCommand } from '#cli/demo-command.ts';
import { pruneCommand } from '#cli/prune-command.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { describeFilters, filtersRecordKey } from '#pipeline/lake-filters.ts';
import { writeReport } from '#report/build-report.ts';
import { PALETTE } from '#report/chart-specs.ts';
import { optionalColumns } from '#report/lake-aggregates.ts';
import { formatDay, formatDuration } from '#report/report-format.ts';
import { launchChromium, type PageLog, watchPage } from '#test/support/browser.ts';
import { capture } from '#test/support/cli-runner.ts';
import { loseChats } from '#test/support/lose-chats.ts';

/** The report is made on TODAY at noon UTC: `--last 7d` is the 7 days before it, the previous period the 7 before those. */
const TODAY = '2026-11-25';
const NOW = () => new Date(`${TODAY}T12:00:00Z`);
const CURRENT = { from: '2026-11-18', to: '2026-11-24' };
const PREVIOUS = { from: '2026-11-11', to: '2026-11-17' };
const SECTIONS = [
  'agents',
  'groups',
  'timing',
  'ratings',
  'chats-per-day',
  'weekday-hour',
  'missed-hours',
  'survey',
  'prechat',
  ...(optionalColumns().tags ? ['tags'] : []),
  ...(optionalColumns().country ? ['countries'] : []),
  'completeness',
  // The demo archives the simulator's attachments: files per day and status.
  'attachments',
  'runs',
];
/** Sections whose chart may be empty in the demo: it has no pre-chat question with choices. */
const MAY_BE_EMPTY = new Set(['prechat']);

let browser: Browser;
let lakeDir: string;
let reportFile: string;

/** Two demo runs, a week apart, merged into one lake of 14 days. */
async function twoWeekDemoLake(root: string): Promise<string> {
  const lake = join(root, 'lake');
  const before = join(root, 'lake-before');
  for (const [dir, today] of [
    [before, '2026-11-18'],
    [lake, TODAY],
  ] as const) {
    const code = await demoCommand({
      lakeDir: dir,
      stdout: capture().stream,
      stderr: capture().stream,
      today,
      reportDir: join(root, `demo-report-${today}`),
    });
    expect(code).toBe(0);
  }
  cpSync(join(before, 'chats'), join(lake, 'chats'), { recursive: true });
  cpSync(join(before, 'manifests'), join(lake, 'manifests'), { recursive: true });
  return lake;
}

beforeAll(async () => {
  browser = await launchChromium();
  const root = await mkdtemp(join(tmpdir(), 'report-browser-'));
  lakeDir = await twoWeekDemoLake(root);
  const result = await writeReport({ lakeDir, outDir: join(root, 'report'), last: '7d', now: NOW });
  expect([result.from, result.to]).toEqual([CURRENT.from, CURRENT.to]);
  reportFile = result.file;
}, 180_000);

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

interface Shown {
  text: string;
  /** The exact value in data-value: a number, a day, an e-mail; null for "—"; undefined when the cell has none. */
  value: string | number | null | undefined;
}

type Text = { textContent: string | null; getAttribute(name: string): string | null };
type Group = { children: { length: number } };

const exact = (raw: string | null): string | number | null | undefined =>
  raw === null ? undefined : raw === '' ? null : Number.isNaN(Number(raw)) ? raw : Number(raw);

async function tableRows(page: Page, section: string): Promise<Shown[][]> {
  const rows = await page.$$eval(`section[data-section="${section}"] table tbody tr`, (trs) =>
    // No DOM lib in tsconfig: elements are typed structurally.
    trs.map((tr) =>
      Array.from(tr.querySelectorAll('td'), (td) => ({
        text: ((td as Text).textContent ?? '').replace(/^⚠ /, ''),
        raw: (td as Text).getAttribute('data-value'),
      })),
    ),
  );
  return rows.map((row) => row.map((cell) => ({ text: cell.text, value: exact(cell.raw) })));
}

/** The column of a table by its header. */
async function columnIndex(page: Page, section: string, header: string, nth = 0): Promise<number> {
  const headers = await page.$$eval(`section[data-section="${section}"] table thead th`, (ths) =>
    ths.map((th) => (th as Text).textContent ?? ''),
  );
  const indexes = headers.flatMap((h, i) => (h === header ? [i] : []));
  expect(indexes.length, `${section} has a column "${header}"`).toBeGreaterThan(nth);
  return indexes[nth]!;
}

async function kpi(page: Page, id: string): Promise<{ value: Shown; change: Shown; previous: Shown }> {
  const read = (selector: string) =>
    page.$eval(`[data-kpi="${id}"] ${selector}`, (el) => ({
      text: (el as Text).textContent ?? '',
      raw: (el as Text).getAttribute('data-value'),
    }));
  const [value, change, previous] = await Promise.all([read('dd'), read('[data-change]'), read('[data-previous]')]);
  const shown = (c: { text: string; raw: string | null }): Shown => ({ text: c.text, value: exact(c.raw) });
  return { value: shown(value), change: shown(change), previous: shown(previous) };
}

const close = (a: unknown, b: unknown) => expect(Number(a)).toBeCloseTo(Number(b), 6);
const DURATION = /^−?(?:\d+s|\d+m \d{2}s|\d+h \d{2}m)$/;

/** quantile_cont: linear interpolation between the sorted values (DuckDB's definition). */
function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
}

interface LakeChat {
  dt: string;
  id: string;
  type: string;
  rate: string | null;
  started_timestamp: number;
  agents: Array<{ email: string }> | null;
  messages: Array<{ user_type: string; timestamp: number | null }> | null;
  postchat_survey: Array<{ key: string; value: string }> | null;
}

/** The latest copy of every chat of the lake, read with plain SQL (no report code). */
async function latestChats(): Promise<LakeChat[]> {
  const lake = await openLocalLake(lakeDir);
  try {
    return await lake.query<LakeChat>(
      `SELECT dt, id, type, rate, started_timestamp, agents, messages, postchat_survey
         FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY "_archived_at" DESC, "_run_id" DESC, "_page" DESC) AS r FROM chats)
        WHERE r = 1`,
    );
  } finally {
    await lake.close();
  }
}

/** First response as documented in the named query first_response_time, in JavaScript. */
function firstResponse(chat: LakeChat): number | null {
  if (chat.type !== 'chat') return null;
  const stamps = (who: string) =>
    (chat.messages ?? []).filter((m) => m.user_type === who && m.timestamp !== null).map((m) => m.timestamp!);
  const visitor = stamps('visitor');
  const asked = visitor.length > 0 ? Math.min(...visitor) : chat.started_timestamp;
  const answers = stamps('agent').filter((t) => t >= asked);
  return answers.length > 0 ? Math.min(...answers) - asked : null;
}

const inRange = (range: { from: string; to: string }) => (chat: LakeChat) =>
  chat.dt >= range.from && chat.dt <= range.to;

// A cold browser on a loaded 2-core CI machine: generous limits, no timing asserted.
describe('HTML report in headless Chromium', { timeout: 90_000 }, () => {
  it('opens with the headline row, then the team, the customers and the archive health; no console error, no request', async () => {
    const { page, log } = await openReport(reportFile);
    try {
      const order = await page.$$eval('main [data-part], #headline, main section[data-section]', (els) =>
        els.map((el) => (el as Text).getAttribute('data-section') ?? `part:${(el as Text).getAttribute('data-part')}`),
      );
      expect(order).toEqual([
        'part:headline',
        'part:team',
        ...SECTIONS.slice(0, 4),
        'part:customers',
        ...SECTIONS.slice(4, -3),
        'part:health',
        ...SECTIONS.slice(-3),
      ]);
      const marks = await page.$$eval('section[data-section]', (sections) =>
        sections.map((section) => ({
          id: section.getAttribute('data-section'),
          marks: Array.from(section.querySelectorAll('svg .role-mark')).reduce(
            (n: number, g) => n + (g as Group).children.length,
            0,
          ),
        })),
      );
      for (const section of marks) {
        if (!MAY_BE_EMPTY.has(section.id ?? '')) expect(section.marks, section.id ?? '').toBeGreaterThan(0);
      }
      // The title names the range and the previous range.
      expect(await page.title()).toBe(
        'Chat report: Wed 18 Nov – Tue 24 Nov 2026, against Wed 11 Nov – Tue 17 Nov 2026',
      );
      expect(await page.$eval('h1', (h1) => h1.textContent)).toBe(await page.title());
      expect(log.consoleErrors).toEqual([]);
      expect(log.requests).toEqual([pathToFileURL(reportFile).href]);

      const screenshot = resolve(process.env['REPORT_SCREENSHOT'] ?? join(dirname(reportFile), 'report.png'));
      await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
      expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await page.close();
    }
  });

  it('shows the headline figures and their previous-period values as DuckDB named queries compute them', async () => {
    const { page } = await openReport(reportFile);
    const lake = await openLocalLake(lakeDir);
    try {
      for (const [range, field] of [
        [CURRENT, 'value'],
        [PREVIOUS, 'previous'],
      ] as const) {
        const perDay = await lake.runNamed('chats_per_day', range);
        expect(perDay).toHaveLength(7);
        const chats = perDay.reduce((sum, row) => sum + Number(row['total_chats']), 0);
        const missed = perDay.reduce((sum, row) => sum + Number(row['missed_chats']), 0);
        const rating = Object.fromEntries(
          (await lake.runNamed('rating_share', range)).map((row) => [row['rating'], Number(row['chats'])]),
        );
        const response = (await lake.runNamed('first_response_time', range)).find(
          (row) => row['day_or_total'] === 'ALL',
        )!;
        expect((await kpi(page, 'chats'))[field].value).toBe(chats);
        close((await kpi(page, 'missed'))[field].value, (100 * missed) / chats);
        close((await kpi(page, 'first-response'))[field].value, response['p50_first_response_s']);
        close(
          (await kpi(page, 'satisfaction'))[field].value,
          (100 * rating['good']!) / (rating['good']! + rating['bad']!),
        );
      }
      // Human units on screen, the change beside them.
      const chats = await kpi(page, 'chats');
      expect(chats.value.text).toBe(Number(chats.value.value).toLocaleString('en-US'));
      expect(chats.change.value).toBe(Number(chats.value.value) - Number(chats.previous.value));
      expect(chats.change.text).toMatch(/^[+−]?\d+ \([+−]?\d+\.\d%\)$/);
      const response = await kpi(page, 'first-response');
      expect(response.value.text).toMatch(DURATION);
      expect(response.value.text).toBe(formatDuration(Number(response.value.value)));
      expect(response.previous.text).toBe(`before: ${formatDuration(Number(response.previous.value))}`);
      expect((await kpi(page, 'satisfaction')).value.text).toMatch(/^\d{1,3}\.\d%$/);
      expect((await kpi(page, 'missed')).change.text).toMatch(/^[+−]?\d+\.\d pp$/);
    } finally {
      await lake.close();
      await page.close();
    }
  });

  it('shows each agent’s chats, satisfaction and response times, this period and the previous one, as counted from the chats', async () => {
    const { page } = await openReport(reportFile);
    try {
      const chats = await latestChats();
      const perAgent = (range: { from: string; to: string }) => {
        const agents = new Map<string, { chats: number; good: number; bad: number; responses: number[] }>();
        for (const chat of chats.filter(inRange(range))) {
          for (const email of new Set((chat.agents ?? []).map((a) => a.email))) {
            const agent = agents.get(email) ?? { chats: 0, good: 0, bad: 0, responses: [] };
            agent.chats += 1;
            if (chat.type === 'chat' && chat.rate === 'rated_good') agent.good += 1;
            if (chat.type === 'chat' && chat.rate === 'rated_bad') agent.bad += 1;
            const response = firstResponse(chat);
            if (response !== null) agent.responses.push(response);
            agents.set(email, agent);
          }
        }
        return agents;
      };
      const now = perAgent(CURRENT);
      const before = perAgent(PREVIOUS);
      const rows = await tableRows(page, 'agents');
      const [chatsAt, previousAt, satisfactionAt, previousSatisfactionAt, p50At, p90At, previousP50At] =
        await Promise.all([
          columnIndex(page, 'agents', 'chats'),
          columnIndex(page, 'agents', 'previous', 0),
          columnIndex(page, 'agents', 'satisfaction'),
          columnIndex(page, 'agents', 'previous', 1),
          columnIndex(page, 'agents', 'first response p50'),
          columnIndex(page, 'agents', 'first response p90'),
          columnIndex(page, 'agents', 'previous p50'),
        ]);
      expect(rows.map((row) => row[0]!.value).sort()).toEqual([...now.keys()].sort());
      for (const row of rows) {
        const email = String(row[0]!.value);
        const agent = now.get(email)!;
        const earlier = before.get(email)!;
        expect(row[chatsAt]!.value, email).toBe(agent.chats);
        expect(row[previousAt]!.value, email).toBe(earlier.chats);
        close(row[satisfactionAt]!.value, (100 * agent.good) / (agent.good + agent.bad));
        close(row[previousSatisfactionAt]!.value, (100 * earlier.good) / (earlier.good + earlier.bad));
        close(row[p50At]!.value, quantile(agent.responses, 0.5));
        close(row[p90At]!.value, quantile(agent.responses, 0.9));
        close(row[previousP50At]!.value, quantile(earlier.responses, 0.5));
        close(row[previousP50At + 1]!.value, Number(row[p50At]!.value) - Number(row[previousP50At]!.value));
        expect(row[p50At]!.text).toBe(formatDuration(Number(row[p50At]!.value)));
        expect(row[satisfactionAt]!.text).toMatch(/^\d{1,3}\.\d%$/);
      }
    } finally {
      await page.close();
    }
  });

  it('shows the post-chat survey answers and the missed chats by weekday and hour, as counted from the chats', async () => {
    const { page } = await openReport(reportFile);
    try {
      const chats = (await latestChats()).filter(inRange(CURRENT));
      const answers = new Map<string, number>();
      for (const chat of chats) {
        for (const answer of chat.postchat_survey ?? []) {
          if (answer.value)
            answers.set(`${answer.key}|${answer.value}`, (answers.get(`${answer.key}|${answer.value}`) ?? 0) + 1);
        }
      }
      const survey = await tableRows(page, 'survey');
      expect(survey.length).toBeGreaterThan(0);
      const shown = new Map(survey.map((row) => [`${row[0]!.text}|${row[1]!.text}`, row[2]!.value]));
      // Every answer the page shows, counted right; a question left out is free text, counted in the intro.
      for (const [key, value] of shown) expect(value, key).toBe(answers.get(key));
      expect(shown.has('How would you rate the quality of support?|Good')).toBe(true);

      const wallClock = new Intl.DateTimeFormat('en-US', {
        timeZone: DEMO_TIME_ZONE,
        weekday: 'short',
        hour: 'numeric',
        hourCycle: 'h23',
      });
      const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
      const missed = Array.from({ length: 7 }, () => Array<number>(24).fill(0));
      for (const chat of chats.filter((c) => c.type === 'missed_chat')) {
        const parts = wallClock.formatToParts(new Date(chat.started_timestamp * 1000));
        const part = (type: string) => parts.find((p) => p.type === type)!.value;
        missed[WEEKDAYS.indexOf(part('weekday'))]![Number(part('hour'))]! += 1;
      }
      expect((await tableRows(page, 'missed-hours')).map((row) => row.slice(1).map((cell) => cell.value))).toEqual(
        missed,
      );
      expect(await page.$eval('#missed-hours h3', (h3) => h3.textContent)).toContain(`(${DEMO_TIME_ZONE})`);
    } finally {
      await page.close();
    }
  });

  it('shows days in human units with the partition day kept exact, and per-day numbers equal to DuckDB', async () => {
    const { page } = await openReport(reportFile);
    const lake = await openLocalLake(lakeDir);
    try {
      const perDay = await lake.runNamed('chats_per_day', CURRENT);
      const shown = await tableRows(page, 'chats-per-day');
      expect(shown.map((row) => [row[0]!.value, row[1]!.value, row[2]!.value, row[3]!.value])).toEqual(
        perDay.map((row) => [row['dt'], row['total_chats'], row['regular_chats'], row['missed_chats']]),
      );
      for (const row of shown) expect(row[0]!.text).toBe(formatDay(String(row[0]!.value)));
      expect(shown[0]![0]!.text).toBe('Wed 18 Nov 2026');
      const durations = (await lake.runNamed('duration_stats', CURRENT)).filter((row) => row['day_or_total'] !== 'ALL');
      const timing = await tableRows(page, 'timing');
      expect(timing.map((row) => row[5]!.value)).toEqual(durations.map((row) => row['p50_duration_s']));
      for (const row of timing) expect(row[5]!.text).toMatch(DURATION);
      // The run's start in the lake's zone, the exact instant kept.
      const [run] = await tableRows(page, 'runs');
      expect(run![1]!.text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
      expect(String(run![1]!.value)).toMatch(/Z$/);
    } finally {
      await lake.close();
      await page.close();
    }
  });

  it('draws day bars centred on their day with no label past the range, heat maps without grid lines, in the colour-blind-safe palette', async () => {
    const { page } = await openReport(reportFile);
    try {
      for (const section of ['chats-per-day', 'ratings', 'completeness']) {
        const geometry = await page.$$eval(`section[data-section="${section}"] svg`, (svgs) => {
          const svg = svgs[0] as unknown as {
            querySelectorAll(s: string): ArrayLike<{
              textContent: string | null;
              getBoundingClientRect(): { x: number; width: number };
            }>;
          };
          const box = (el: { getBoundingClientRect(): { x: number; width: number } }) => el.getBoundingClientRect();
          const labels = Array.from(svg.querySelectorAll('.role-axis-label text')).map((t) => ({
            text: t.textContent ?? '',
            centre: box(t).x + box(t).width / 2,
          }));
          const bars = Array.from(svg.querySelectorAll('.role-mark.mark-rect path, .role-mark.mark-rect rect')).map(
            (b) => ({ centre: box(b).x + box(b).width / 2, width: box(b).width }),
          );
          return { labels, bars };
        });
        const dayLabels = geometry.labels.filter((l) => /^[A-Z][a-z]{2} \d{2} [A-Z][a-z]{2}$/.test(l.text));
        expect(dayLabels.map((l) => l.text)).toEqual([
          'Wed 18 Nov',
          'Thu 19 Nov',
          'Fri 20 Nov',
          'Sat 21 Nov',
          'Sun 22 Nov',
          'Mon 23 Nov',
          'Tue 24 Nov',
        ]);
        const centres = [...new Set(geometry.bars.filter((b) => b.width > 0).map((b) => Math.round(b.centre)))].sort(
          (a, b) => a - b,
        );
        expect(centres, section).toHaveLength(7);
        for (const [index, label] of dayLabels.entries()) {
          expect(Math.abs(label.centre - centres[index]!), section).toBeLessThan(2);
        }
      }
      for (const section of ['weekday-hour', 'missed-hours']) {
        const gridLines = await page.$$eval(
          `section[data-section="${section}"] svg .role-axis-grid line, section[data-section="${section}"] svg .role-axis-grid path`,
          (lines) => lines.length,
        );
        expect(gridLines, section).toBe(0);
      }
      const fills = await page.$$eval(
        'section[data-section="chats-per-day"] svg .role-mark path, section[data-section="ratings"] svg .role-mark path',
        (paths) => [...new Set(paths.map((p) => ((p as Text).getAttribute('fill') ?? '').toUpperCase()))],
      );
      const palette = new Set(Object.values(PALETTE).map((colour) => colour.toUpperCase()));
      expect(fills.length).toBeGreaterThan(2);
      for (const fill of fills) expect(palette, fill).toContain(fill);
    } finally {
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
    const { file } = await writeReport({ lakeDir: filtered, outDir: join(dirname(filtered), 'report'), ...CURRENT });
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

  it('marks a day that lost a page file (✗) and one never archived; a pruned day reads expired (retention), not incomplete', async () => {
    const damaged = join(await mkdtemp(join(tmpdir(), 'report-damaged-')), 'lake');
    cpSync(lakeDir, damaged, { recursive: true });
    loseChats(damaged, '2026-11-20', 25);
    // A night that never ran: no chats, no day plan, no run manifest names the day.
    rmSync(join(damaged, 'chats', 'dt=2026-11-22'), { recursive: true });
    rmSync(join(damaged, 'manifests', 'day-plans', 'dt=2026-11-22'), { recursive: true });
    for (const name of readdirSync(join(damaged, 'manifests', 'runs')).filter((f) => f.endsWith('.json'))) {
      const file = join(damaged, 'manifests', 'runs', name);
      const run = JSON.parse(readFileSync(file, 'utf8')) as { days: Array<{ day: string }> };
      run.days = run.days.filter((d) => d.day !== '2026-11-22');
      writeFileSync(file, JSON.stringify(run));
    }
    // Retention: the first two days' files are old, npm run prune removes them.
    for (const day of ['2026-11-18', '2026-11-19']) {
      const partition = join(damaged, 'chats', `dt=${day}`);
      const old = new Date(Date.now() - 400 * 86_400_000);
      for (const file of readdirSync(partition)) utimesSync(join(partition, file), old, old);
    }
    const pruned = await pruneCommand(['--out', damaged, '--older-than-days', '365'], {
      stdout: capture().stream,
      stderr: capture().stream,
    });
    expect(pruned).toBe(0);
    const { file } = await writeReport({ lakeDir: damaged, outDir: join(dirname(damaged), 'report'), ...CURRENT });
    const { page, log } = await openReport(file);
    try {
      const rows = await tableRows(page, 'completeness');
      const byDay = new Map(rows.map((row) => [row[0]!.value, row]));
      expect(byDay.get('2026-11-20')![4]!.text).toMatch(/^short: 25 chat\(s\) missing from the lake$/);
      expect(byDay.get('2026-11-22')![4]!.value).toBe('not_archived');
      for (const day of ['2026-11-18', '2026-11-19']) {
        expect(byDay.get(day)![4]!.value, day).toBe('expired (retention)');
        expect(byDay.get(day)![2]!.value, day).toBe(0);
      }
      const flagged = await page.$$eval('section[data-section="completeness"] tbody tr.flagged', (trs) =>
        trs.map((tr) => (tr.querySelector('td') as Text).getAttribute('data-value')),
      );
      expect(flagged).toEqual(['2026-11-20', '2026-11-22']);
      const marks = await page.$$eval(
        'section[data-section="completeness"] svg text',
        (texts) => texts.filter((text) => text.textContent === '✗').length,
      );
      expect(marks).toBe(2);
      expect(await page.$eval('[data-kpi="incomplete"] dd', (dd) => dd.textContent)).toBe('⚠ 2');
      expect(await page.$eval('[data-kpi="expired"] dd', (dd) => dd.textContent)).toBe('2');
      expect(log.consoleErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
