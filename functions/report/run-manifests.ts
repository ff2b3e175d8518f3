/**
 * Local run manifests, `manifests/runs/<run-id>.json` (pipeline/run-manifest.ts): per day the
 * expected total, status and drift, per run the pages and retries. The day plans that both
 * local and queued runs write are read through DuckDB (the `day_plans` view and the named
 * query `day_completeness`), not here. Only the fields the report uses are read; a file that
 * does not parse is skipped and named in a note, so one damaged manifest does not hide the
 * rest of the report.
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
  /** Pages written in every pass (absent in manifests written before it was recorded). */
  pagesWritten: z.optional(count),
  chatsWritten: count,
  attempts: count,
  driftSeen: count,
  /** Drift re-archives (absent in older manifests: driftSeen stands in). */
  reArchives: z.optional(count),
  problem: z.optional(z.string()),
});

const runManifestSchema = z.object({
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** IANA zone the run cut its days in (absent in manifests written before runs recorded it: UTC). */
  timeZone: z.optional(z.string()),
  complete: z.boolean(),
  totals: z.object({ retries: count }),
  days: z.array(dayRecordSchema),
});

export type ManifestDay = z.infer<typeof dayRecordSchema>;
export type RunManifestView = z.infer<typeof runManifestSchema>;

export interface ArchiverRecords {
  runs: RunManifestView[];
  /** One line per file that could not be read. */
  unreadable: string[];
}

const RUN_MANIFEST_FILE = /^[^/]+\.json$/;

export async function readArchiverRecords(lakeDir: string): Promise<ArchiverRecords> {
  const runsDir = path.join(lakeDir, MANIFESTS_PREFIX, 'runs');
  const records: ArchiverRecords = { runs: [], unreadable: [] };
  if (!existsSync(runsDir)) return records;

  for (const entry of await readdir(runsDir, { withFileTypes: true })) {
    if (!entry.isFile() || !RUN_MANIFEST_FILE.test(entry.name)) continue;
    const run = await readJson(path.join(runsDir, entry.name), runManifestSchema, records.unreadable);
    if (run) records.runs.push(run);
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

export interface ManifestDayStatus {
  expected: number;
  status: ManifestDay['status'];
  runId: string;
  problem: string | null;
  /** When the run finished; a day plan written later supersedes this record. */
  finishedAt: string;
}

/** Per day, what the latest local run that covered it reported. */
export function latestRunPerDay(records: ArchiverRecords): Map<string, ManifestDayStatus> {
  const latest = new Map<string, ManifestDayStatus>();
  for (const run of records.runs) {
    for (const day of run.days) {
      const current = latest.get(day.day);
      if (current && current.finishedAt >= run.finishedAt) continue;
      latest.set(day.day, {
        expected: day.expectedTotal,
        status: day.status,
        runId: run.runId,
        problem: day.problem ?? null,
        finishedAt: run.finishedAt,
      });
    }
  }
  return latest;
}
