/**
 * `npm run report`: a local lake in, one self-contained `report.html` out.
 *
 *   const { file } = await writeReport({ lakeDir: 'lake', outDir: 'report' });
 *
 * Chats are aggregated by DuckDB (lake-aggregates.ts); what each day should hold comes from the
 * day plans (named query day_completeness) and the local run manifests (run-manifests.ts). A range without any of them gives an
 * empty-state page; a folder that is not a lake is an InvalidInputError (one line, no file).
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { daysInMonthFiles, openLocalLake } from '#lake/duckdb-lake.ts';
import {
  CHATS_PREFIX,
  compactedTablePrefix,
  DAY_PLANS_PREFIX,
  EXPIRED_DAYS_PREFIX,
  MANIFESTS_PREFIX,
  TIME_ZONE_RECORD_PREFIX,
  timeZoneOfRecord,
} from '#lake/lake-layout.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { lakeFilters } from '#pipeline/lake-filters.ts';
import { isDayDone } from '#pipeline/run-manifest.ts';
import { addDays, daysInRange, isTimeZone, localDay } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { readFilesPerDay } from './attachments-section.ts';
import {
  type AggregateRange,
  aggregateChats,
  aggregatePlans,
  type ChatAggregates,
  type DayCompletenessRow,
  NO_CHATS,
  type PlannedRun,
} from './lake-aggregates.ts';
import type { CompletenessDay, FilesDay, PreviousPeriod, ReportData, RunSummary } from './report-data.ts';
import { renderReportHtml } from './report-html.ts';
import {
  type ArchiverRecords,
  latestRunPerDay,
  type ManifestDayStatus,
  type RunManifestView,
  readArchiverRecords,
} from './run-manifests.ts';

export const REPORT_FILE = 'report.html';
/** As the archive CLI: ten years of days at most. */
export const MAX_REPORT_DAYS = 3_660;

/** `--last`: the 7 or 30 days that ended yesterday, or the last full calendar quarter (lake's zone). */
export const LAST_RANGES = ['7d', '30d', 'quarter'] as const;
export type LastRange = (typeof LAST_RANGES)[number];

export interface ReportOptions {
  lakeDir: string;
  outDir: string;
  from?: string;
  to?: string;
  last?: LastRange;
  now?: () => Date;
}

export interface ReportResult {
  file: string;
  bytes: number;
  /** True when the range holds no chat, no run and no day plan (the page says so). */
  empty: boolean;
  from: string;
  to: string;
  chats: number;
}

export async function writeReport(options: ReportOptions): Promise<ReportResult> {
  const data = await buildReportData(options);
  const html = renderReportHtml(data);
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, REPORT_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, html);
  await rename(temp, file);
  return {
    file,
    bytes: Buffer.byteLength(html),
    empty: data.totals.chats === 0 && data.completeness.length === 0 && data.runs.length === 0,
    from: data.from,
    to: data.to,
    chats: data.totals.chats,
  };
}

export async function buildReportData(options: ReportOptions): Promise<ReportData> {
  const lakeDir = path.resolve(options.lakeDir);
  assertLakeFolder(lakeDir);
  const now = options.now?.() ?? new Date();
  const records = await readArchiverRecords(lakeDir);
  const manifestDays = latestRunPerDay(records);
  // Days with chats: JSON files, or a compacted Parquet day or month (npm run compact), which the DuckDB view reads too.
  const partitionDays = [
    ...new Set([
      ...listDays(path.join(lakeDir, CHATS_PREFIX), (file) => file.endsWith('.json.gz')),
      ...listDays(path.join(lakeDir, compactedTablePrefix(CHATS_PREFIX)), (file) => file.endsWith('.parquet')),
      ...(await daysInMonthFiles(lakeDir)),
    ]),
  ].sort();
  const planDays = new Set(listDays(path.join(lakeDir, DAY_PLANS_PREFIX), (file) => file.endsWith('.json')));
  const expiredDays = new Set(listDays(path.join(lakeDir, EXPIRED_DAYS_PREFIX), (file) => file.endsWith('.json')));
  const known = [...new Set([...partitionDays, ...planDays, ...manifestDays.keys()])].sort();
  const last = options.last ? lastRange(options.last, localDay(now, recordedZone(lakeDir))) : undefined;
  const from = last?.from ?? options.from ?? known[0] ?? options.to;
  const to = last?.to ?? options.to ?? known.at(-1) ?? options.from;
  const generatedAt = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const notes =
    records.unreadable.length > 0
      ? [`${records.unreadable.length} manifest file(s) could not be read and are left out: ${records.unreadable[0]}`]
      : [];
  const rangeLabel = options.last ? `--last ${options.last}` : null;

  const filters = await lakeFilters(new LocalFileSink(lakeDir));
  const filtered = filters && filters !== 'unfiltered' ? { filters } : {};
  if (from === undefined || to === undefined) {
    return { ...emptyData(lakeDir, generatedAt, '(none)', '(none)', notes), rangeLabel, ...filtered };
  }
  const days = daysInRange(from, to, MAX_REPORT_DAYS, { from: '--from', to: '--to' });
  const previous = previousPeriod(days, options.last === 'quarter', new Set(known));
  if (previous.daysArchived === 0) {
    notes.push(`the previous period (${previous.from} to ${previous.to}) is not archived: no change is shown`);
  } else if (previous.daysArchived < previous.days) {
    notes.push(
      `the previous period (${previous.from} to ${previous.to}) is archived on ${previous.daysArchived} of its ${previous.days} days: its figures cover those days only`,
    );
  }
  const hasChats = partitionDays.some((day) => day >= from && day <= to);
  const planned = days.some((day) => planDays.has(day) || manifestDays.has(day));
  if (!hasChats && !planned) {
    return { ...emptyData(lakeDir, generatedAt, from, to, notes), rangeLabel, previous, ...filtered };
  }

  // DuckDB opens a lake that has at least one chat file; a lake of plans only is judged from its run manifests.
  const runsInRange = records.runs.filter((run) => run.days.some((day) => day.day >= from && day.day <= to));
  const compare = previous.daysArchived > 0 ? { previousFrom: previous.from } : {};
  const { chats, plans, timeZone, files } =
    partitionDays.length > 0
      ? await aggregateLake(lakeDir, { from, to, ...compare }, hasChats, runsInRange, notes)
      : { chats: undefined, plans: undefined, timeZone: zoneOf([], runsInRange, notes), files: [] };
  const daily = chats?.daily ?? [];
  const planRows = new Map((plans?.days ?? []).map((row) => [row.dt, row]));
  return {
    lake: lakeDir,
    generatedAt,
    from,
    to,
    rangeLabel,
    previous,
    timeZone,
    ...filtered,
    headline: chats?.headline ?? { current: NO_CHATS, previous: null },
    totals: {
      chats: sum(daily.map((d) => d.total)),
      regular: sum(daily.map((d) => d.regular)),
      missed: sum(daily.map((d) => d.missed)),
      agents: chats?.agentCount ?? 0,
      daysWithChats: daily.length,
    },
    completeness: days.map((day) =>
      completenessOf(day, planRows.get(day), manifestDays.get(day), expiredDays.has(day)),
    ),
    daily,
    heatmap: chats?.heatmap ?? [],
    missedHeatmap: chats?.missedHeatmap ?? [],
    agents: chats?.agents ?? [],
    groups: chats?.groups ?? [],
    surveys: chats?.surveys ?? [],
    ...(chats?.tags ? { tags: chats.tags } : {}),
    ...(chats?.countries ? { countries: chats.countries } : {}),
    runs: runSummaries(records, chats, plans?.runs ?? [], from, to),
    ...(files.length > 0 ? { files } : {}),
    notes,
  };
}

/** The range `--last` names, in days of the lake's zone: it ends yesterday (7d, 30d) or with the last full quarter. */
export function lastRange(last: LastRange, today: string): { from: string; to: string } {
  const yesterday = addDays(today, -1);
  if (last === '7d') return { from: addDays(yesterday, -6), to: yesterday };
  if (last === '30d') return { from: addDays(yesterday, -29), to: yesterday };
  const [year, month] = today.split('-').map(Number) as [number, number];
  const quarterStart = new Date(Date.UTC(year, Math.floor((month - 1) / 3) * 3, 1));
  const to = addDays(quarterStart.toISOString().slice(0, 10), -1);
  const from = new Date(Date.UTC(year, Math.floor((month - 1) / 3) * 3 - 3, 1)).toISOString().slice(0, 10);
  return { from, to };
}

/**
 * The period the report compares with: as many days, right before the range (for `--last quarter`,
 * the quarter before). `daysArchived` counts its days the lake holds anything for.
 */
function previousPeriod(days: string[], quarter: boolean, known: Set<string>): PreviousPeriod {
  const first = days[0]!;
  const to = addDays(first, -1);
  const from = quarter
    ? new Date(Date.UTC(Number(first.slice(0, 4)), Number(first.slice(5, 7)) - 4, 1)).toISOString().slice(0, 10)
    : addDays(first, -days.length);
  const previous = daysInRange(from, to);
  return { from, to, days: previous.length, daysArchived: previous.filter((day) => known.has(day)).length };
}

/** The zone the lake's runs recorded (manifests/time-zone/), UTC when none did. */
function recordedZone(lakeDir: string): string {
  const dir = path.join(lakeDir, TIME_ZONE_RECORD_PREFIX);
  if (!existsSync(dir)) return 'UTC';
  const zone = readdirSync(dir)
    .map((file) => timeZoneOfRecord(`${TIME_ZONE_RECORD_PREFIX}${file}`))
    .find((name): name is string => name !== undefined && isTimeZone(name));
  return zone ?? 'UTC';
}

async function aggregateLake(
  lakeDir: string,
  range: AggregateRange,
  hasChats: boolean,
  runs: RunManifestView[],
  notes: string[],
): Promise<{
  chats: ChatAggregates | undefined;
  plans: Awaited<ReturnType<typeof aggregatePlans>>;
  timeZone: string;
  /** The range's attachments per day (attachments-section.ts). */
  files: FilesDay[];
}> {
  const lake = await openLocalLake(lakeDir);
  try {
    const plans = await aggregatePlans(lake, range.from, range.to);
    const timeZone = zoneOf(plans.timeZones, runs, notes);
    const chats = hasChats ? await aggregateChats(lake, range, timeZone) : undefined;
    return { chats, plans, timeZone, files: await readFilesPerDay(lake, range.from, range.to) };
  } finally {
    await lake.close();
  }
}

/**
 * The zone the range's days were cut in, from its day plans and run manifests; UTC when none
 * says (lakes written before runs recorded it). Several zones in one range: the latest run's, with a note.
 */
function zoneOf(planZones: string[], runs: RunManifestView[], notes: string[]): string {
  const runZones = runs.map((run) => run.timeZone ?? 'UTC');
  const zones = [...new Set([...planZones, ...runZones])].sort();
  const zone = runZones.at(-1) ?? zones[0] ?? 'UTC';
  if (!isTimeZone(zone)) {
    notes.push(`the runs name an unknown time zone "${zone}"; hours are shown in UTC`);
    return 'UTC';
  }
  if (zones.length > 1) {
    notes.push(`days in this range were cut in several time zones (${zones.join(', ')}); hours are shown in ${zone}`);
  }
  return zone;
}

function assertLakeFolder(lakeDir: string): void {
  if (!existsSync(lakeDir)) throw new InvalidInputError(`lake folder ${lakeDir} does not exist`);
  if (!statSync(lakeDir).isDirectory()) throw new InvalidInputError(`${lakeDir} is a file, not a lake folder`);
  const hasChats = existsSync(path.join(lakeDir, CHATS_PREFIX));
  const hasManifests = existsSync(path.join(lakeDir, MANIFESTS_PREFIX));
  if (!hasChats && !hasManifests) {
    throw new InvalidInputError(
      `${lakeDir} is not a lake: it has neither ${CHATS_PREFIX} nor ${MANIFESTS_PREFIX} (archive into it with npm run archive -- --out ${lakeDir})`,
    );
  }
}

/** Days that have a `dt=YYYY-MM-DD/` folder under `dir` holding at least one matching file. */
function listDays(dir: string, matches: (file: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^dt=\d{4}-\d{2}-\d{2}$/.test(entry.name))
    .filter((entry) => readdirSync(path.join(dir, entry.name)).some(matches))
    .map((entry) => entry.name.slice(3))
    .sort();
}

/**
 * A day against its latest plan (named query day_completeness) and, when it is the newer word on
 * the day, the local run manifest, which also knows a day that ended incomplete or failed.
 */
function completenessOf(
  day: string,
  plan: DayCompletenessRow | undefined,
  manifest: ManifestDayStatus | undefined,
  pruned: boolean,
): CompletenessDay {
  const archived = plan?.archived_chats ?? 0;
  const duplicates = plan?.duplicates ?? 0;
  const expected = plan?.expected_chats ?? manifest?.expected ?? null;
  const base = { day, archived, duplicates, expected, runId: plan?.run_id ?? manifest?.runId ?? null };
  // day_completeness knows retention (a prune after the latest plan); without it (a lake of plans
  // only), a pruned day that is short is expired too.
  if (plan?.status === 'expired' || (!plan && pruned && (expected === null || archived < expected))) {
    return {
      ...base,
      status: 'expired (retention)',
      problem: 'chat files removed by retention (npm run prune or retentionDays); not counted as incomplete',
    };
  }
  const manifestIsLatest = manifest && (!plan?.planned_at || manifest.finishedAt >= plan.planned_at);
  if (manifest && manifestIsLatest && !isDayDone(manifest.status)) {
    return {
      ...base,
      status: 'incomplete',
      problem: manifest.problem ?? `the run reported the day ${manifest.status}`,
    };
  }
  if (expected === null) {
    return archived > 0
      ? { ...base, status: 'unplanned', problem: 'no day plan or run manifest covers this day' }
      : { ...base, status: 'not_archived', problem: 'no day plan and no chats: no run archived this day' };
  }
  const kept = plan?.kept_chats ?? 0;
  if (archived < expected + kept) {
    return { ...base, status: 'short', problem: `${expected + kept - archived} chat(s) missing from the lake` };
  }
  if (duplicates > 0) return { ...base, status: 'duplicates', problem: `${duplicates} extra copies of chats` };
  if (archived > expected + kept) {
    return { ...base, status: 'extra', problem: `${archived - expected - kept} chat(s) more than planned` };
  }
  if (kept > 0) {
    return { ...base, status: 'kept', problem: `${kept} chat(s) kept that LiveChat no longer returns` };
  }
  return { ...base, status: 'complete', problem: null };
}

function runSummaries(
  records: ArchiverRecords,
  chats: ChatAggregates | undefined,
  plannedRuns: PlannedRun[],
  from: string,
  to: string,
): RunSummary[] {
  const inRange = (day: string) => day >= from && day <= to;
  const rows = chats?.rowsPerRun ?? new Map<string, { rows: number; firstArchivedAt: string | null }>();
  const summaries: RunSummary[] = [];
  const seen = new Set<string>();
  for (const run of records.runs) {
    const days = run.days.filter((day) => inRange(day.day));
    if (days.length === 0) continue;
    seen.add(run.runId);
    summaries.push({
      runId: run.runId,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      days: days.length,
      daysComplete: days.filter((day) => day.status === 'complete').length,
      pages: sum(days.map((day) => day.pagesWritten ?? day.pages)),
      chatsWritten: sum(days.map((day) => day.chatsWritten)),
      retries: run.totals.retries,
      drift: sum(days.map((day) => day.reArchives ?? day.driftSeen)),
      complete: days.every((day) => isDayDone(day.status)),
      rowsInLake: rows.get(run.runId)?.rows ?? 0,
    });
  }
  // Runs without a run manifest: queued (AWS) runs known from their day plans, or only from the lake.
  const planned = new Map(plannedRuns.map((run) => [run.runId, run]));
  for (const runId of new Set([...planned.keys(), ...rows.keys()])) {
    if (seen.has(runId)) continue;
    const row = rows.get(runId);
    const plan = planned.get(runId);
    summaries.push({
      runId,
      startedAt: plan?.firstPlannedAt ?? row?.firstArchivedAt ?? null,
      finishedAt: null,
      days: plan?.days ?? null,
      daysComplete: null,
      pages: null,
      chatsWritten: null,
      retries: null,
      drift: null,
      complete: null,
      rowsInLake: row?.rows ?? 0,
    });
  }
  return summaries.sort(
    (a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.runId.localeCompare(b.runId),
  );
}

function emptyData(lake: string, generatedAt: string, from: string, to: string, notes: string[]): ReportData {
  return {
    lake,
    generatedAt,
    from,
    to,
    rangeLabel: null,
    previous: null,
    timeZone: 'UTC',
    headline: { current: NO_CHATS, previous: null },
    totals: { chats: 0, regular: 0, missed: 0, agents: 0, daysWithChats: 0 },
    completeness: [],
    daily: [],
    heatmap: [],
    missedHeatmap: [],
    agents: [],
    groups: [],
    surveys: [],
    runs: [],
    notes,
  };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
