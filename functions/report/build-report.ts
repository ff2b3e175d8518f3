/**
 * `npm run report`: a local lake in, one self-contained `report.html` out.
 *
 *   const { file } = await writeReport({ lakeDir: 'lake', outDir: 'report' });
 *
 * Chats are aggregated by DuckDB (lake-aggregates.ts); what each day should hold comes from the
 * run manifests and day plans (run-manifests.ts). A range without any of them gives an
 * empty-state page; a folder that is not a lake is an InvalidInputError (one line, no file).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { CHATS_PREFIX, MANIFESTS_PREFIX } from '#lake/lake-layout.ts';
import { daysInRange } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { aggregateChats, type ChatAggregates } from './lake-aggregates.ts';
import type { CompletenessDay, ReportData, RunSummary } from './report-data.ts';
import { renderReportHtml } from './report-html.ts';
import { type ArchiverRecords, latestPlanPerDay, type PlannedDay, readArchiverRecords } from './run-manifests.ts';

export const REPORT_FILE = 'report.html';
/** As the archive CLI: ten years of days at most. */
export const MAX_REPORT_DAYS = 3_660;

export interface ReportOptions {
  lakeDir: string;
  outDir: string;
  from?: string;
  to?: string;
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
  const records = await readArchiverRecords(lakeDir);
  const planned = latestPlanPerDay(records);
  const partitionDays = listPartitionDays(lakeDir);
  const known = [...new Set([...partitionDays, ...planned.keys()])].sort();
  const from = options.from ?? known[0] ?? options.to;
  const to = options.to ?? known.at(-1) ?? options.from;
  const generatedAt = (options.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const notes =
    records.unreadable.length > 0
      ? [`${records.unreadable.length} manifest file(s) could not be read and are left out: ${records.unreadable[0]}`]
      : [];

  if (from === undefined || to === undefined) {
    return emptyData(lakeDir, generatedAt, '(none)', '(none)', notes);
  }
  const days = daysInRange(from, to, MAX_REPORT_DAYS, { from: '--from', to: '--to' });
  const hasChats = partitionDays.some((day) => day >= from && day <= to);
  const plannedInRange = days.some((day) => planned.has(day));
  if (!hasChats && !plannedInRange) return emptyData(lakeDir, generatedAt, from, to, notes);

  const chats = hasChats ? await aggregateLake(lakeDir, from, to) : undefined;
  const daily = chats?.daily ?? [];
  return {
    lake: lakeDir,
    generatedAt,
    from,
    to,
    totals: {
      chats: sum(daily.map((d) => d.total)),
      regular: sum(daily.map((d) => d.regular)),
      missed: sum(daily.map((d) => d.missed)),
      agents: chats?.agentCount ?? 0,
      daysWithChats: daily.length,
    },
    completeness: days.map((day) => completenessOf(day, planned.get(day), chats)),
    daily,
    heatmap: chats?.heatmap ?? [],
    agents: chats?.agents ?? [],
    ...(chats?.tags ? { tags: chats.tags } : {}),
    ...(chats?.countries ? { countries: chats.countries } : {}),
    runs: runSummaries(records, chats, from, to),
    notes,
  };
}

async function aggregateLake(lakeDir: string, from: string, to: string): Promise<ChatAggregates> {
  const lake = await openLocalLake(lakeDir);
  try {
    return await aggregateChats(lake, from, to);
  } finally {
    await lake.close();
  }
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

/** Days that have a `chats/dt=YYYY-MM-DD/` folder with at least one gzip NDJSON file. */
function listPartitionDays(lakeDir: string): string[] {
  const chatsDir = path.join(lakeDir, CHATS_PREFIX);
  if (!existsSync(chatsDir)) return [];
  return readdirSync(chatsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^dt=\d{4}-\d{2}-\d{2}$/.test(entry.name))
    .filter((entry) => readdirSync(path.join(chatsDir, entry.name)).some((file) => file.endsWith('.json.gz')))
    .map((entry) => entry.name.slice(3))
    .sort();
}

function completenessOf(day: string, plan: PlannedDay | undefined, chats: ChatAggregates | undefined): CompletenessDay {
  const stored = chats?.perDay.get(day) ?? { archived: 0, duplicates: 0 };
  const base = { day, archived: stored.archived, duplicates: stored.duplicates };
  if (!plan) {
    return {
      ...base,
      expected: null,
      status: stored.archived > 0 ? 'unplanned' : 'no data',
      runId: null,
      problem: stored.archived > 0 ? 'no run manifest or day plan covers this day' : 'nothing archived',
    };
  }
  const planned = { ...base, expected: plan.expected, runId: plan.runId };
  if (plan.status !== 'complete' && plan.status !== 'planned') {
    return { ...planned, status: 'incomplete', problem: plan.problem ?? `run reported the day ${plan.status}` };
  }
  if (stored.archived < plan.expected) {
    return { ...planned, status: 'short', problem: `${plan.expected - stored.archived} chat(s) missing from the lake` };
  }
  return { ...planned, status: 'complete', problem: null };
}

function runSummaries(
  records: ArchiverRecords,
  chats: ChatAggregates | undefined,
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
      pages: sum(days.map((day) => day.pages)),
      chatsWritten: sum(days.map((day) => day.chatsWritten)),
      retries: run.totals.retries,
      drift: sum(days.map((day) => day.driftSeen)),
      complete: days.every((day) => day.status === 'complete'),
      rowsInLake: rows.get(run.runId)?.rows ?? 0,
    });
  }
  // Runs without a run manifest: queued (AWS) runs known from their day plans, or only from the lake.
  const planRuns = new Map<string, { days: Set<string>; firstPlannedAt: string }>();
  for (const plan of records.plans) {
    if (!inRange(plan.day) || seen.has(plan.runId)) continue;
    const run = planRuns.get(plan.runId) ?? { days: new Set<string>(), firstPlannedAt: plan.plannedAt };
    run.days.add(plan.day);
    if (plan.plannedAt < run.firstPlannedAt) run.firstPlannedAt = plan.plannedAt;
    planRuns.set(plan.runId, run);
  }
  for (const runId of new Set([...planRuns.keys(), ...rows.keys()])) {
    if (seen.has(runId)) continue;
    const row = rows.get(runId);
    const planned = planRuns.get(runId);
    summaries.push({
      runId,
      startedAt: planned?.firstPlannedAt ?? row?.firstArchivedAt ?? null,
      finishedAt: null,
      days: planned ? planned.days.size : null,
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
    totals: { chats: 0, regular: 0, missed: 0, agents: 0, daysWithChats: 0 },
    completeness: [],
    daily: [],
    heatmap: [],
    agents: [],
    runs: [],
    notes,
  };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
