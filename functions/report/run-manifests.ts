/**
 * What the archiver planned, read from beside the lake (`manifests/`, never under `chats/`):
 * - run manifests of local runs, `manifests/runs/<run-id>.json` (pipeline/run-manifest.ts):
 *   per day the expected total, status, attempts, drift; per run pages and retries;
 * - day plans of queued (AWS) runs, `manifests/runs/<run-id>/<day>/plan-<attempt>.json`:
 *   the total each attempt planned.
 * Only the fields the report uses are read; a file that does not parse is skipped and named
 * in a note, so one damaged manifest does not hide the rest of the report.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFESTS_PREFIX } from '#lake/lake-layout.ts';
import * as z from '#shared/zod-mini.ts';

const count = z.number().check(z.int(), z.nonnegative());

const dayRecordSchema = z.object({
  day: z.string(),
  status: z.string(),
  expectedTotal: count,
  pages: count,
  chatsWritten: count,
  attempts: count,
  driftSeen: count,
  problem: z.optional(z.string()),
});

const runManifestSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  complete: z.boolean(),
  totals: z.object({ retries: count }),
  days: z.array(dayRecordSchema),
});

const dayPlanSchema = z.object({
  runId: z.string(),
  day: z.string(),
  attempt: count,
  total: count,
  plannedAt: z.string(),
});

export type ManifestDay = z.infer<typeof dayRecordSchema>;
export type RunManifestView = z.infer<typeof runManifestSchema>;
export type DayPlanView = z.infer<typeof dayPlanSchema>;

export interface ArchiverRecords {
  runs: RunManifestView[];
  plans: DayPlanView[];
  /** One line per file that could not be read. */
  unreadable: string[];
}

const RUN_MANIFEST_FILE = /^[^/]+\.json$/;
const DAY_PLAN_FILE = /^plan-\d+\.json$/;

export async function readArchiverRecords(lakeDir: string): Promise<ArchiverRecords> {
  const runsDir = path.join(lakeDir, MANIFESTS_PREFIX, 'runs');
  const records: ArchiverRecords = { runs: [], plans: [], unreadable: [] };
  if (!existsSync(runsDir)) return records;

  for (const entry of await readdir(runsDir, { withFileTypes: true })) {
    const file = path.join(runsDir, entry.name);
    if (entry.isFile() && RUN_MANIFEST_FILE.test(entry.name)) {
      const run = await readJson(file, runManifestSchema, records.unreadable);
      if (run) records.runs.push(run);
    } else if (entry.isDirectory()) {
      for (const dayEntry of await readdir(file, { withFileTypes: true })) {
        if (!dayEntry.isDirectory()) continue;
        for (const planEntry of await readdir(path.join(file, dayEntry.name), { withFileTypes: true })) {
          if (!planEntry.isFile() || !DAY_PLAN_FILE.test(planEntry.name)) continue;
          const plan = await readJson(
            path.join(file, dayEntry.name, planEntry.name),
            dayPlanSchema,
            records.unreadable,
          );
          if (plan) records.plans.push(plan);
        }
      }
    }
  }
  records.runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
  return records;
}

async function readJson<T>(file: string, schema: z.ZodMiniType<T>, unreadable: string[]): Promise<T | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    unreadable.push(`${file}: ${(error as Error).message}`);
    return undefined;
  }
  const result = z.safeParse(schema, parsed);
  if (!result.success) {
    unreadable.push(`${file}: ${result.error.issues[0]?.message ?? 'unexpected shape'}`);
    return undefined;
  }
  return result.data;
}

export interface PlannedDay {
  expected: number;
  /** DayStatus of a run manifest, or 'planned' for a day plan (whose outcome is not recorded). */
  status: string;
  runId: string;
  problem: string | null;
  /** When this record was made: the run's finish, or the plan's time. Later wins. */
  at: string;
}

/** Per day, what the latest run or day plan expected. */
export function latestPlanPerDay(records: ArchiverRecords): Map<string, PlannedDay> {
  const latest = new Map<string, PlannedDay>();
  const offer = (day: string, planned: PlannedDay) => {
    const current = latest.get(day);
    if (!current || planned.at > current.at) latest.set(day, planned);
  };
  for (const run of records.runs) {
    for (const day of run.days) {
      offer(day.day, {
        expected: day.expectedTotal,
        status: day.status,
        runId: run.runId,
        problem: day.problem ?? null,
        at: run.finishedAt,
      });
    }
  }
  for (const plan of records.plans) {
    offer(plan.day, { expected: plan.total, status: 'planned', runId: plan.runId, problem: null, at: plan.plannedAt });
  }
  return latest;
}
