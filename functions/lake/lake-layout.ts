/**
 * Where things live in the lake. Keys are deterministic (day + page), so a task
 * delivered twice overwrites its own file instead of adding a duplicate.
 */
export const CHATS_PREFIX = 'chats/';
/** The raw v3.6 `list_archives` entries (table `chat_threads`, functions/lake/thread-columns.ts). */
export const ARCHIVES_PREFIX = 'archives/';
export const MANIFESTS_PREFIX = 'manifests/';

/**
 * Every table prefix whose files hold chat records (gzip NDJSON, `dt=` partitions). Erasure
 * rewrites and retention expires all of them: a new table is one more entry here.
 */
export const CHAT_TABLE_PREFIXES: readonly string[] = [CHATS_PREFIX, ARCHIVES_PREFIX];

const PAGE_FILE = /^page-(\d{5,})\.json\.gz$/;

/** A day's partition of a table: `chats/dt=2026-11-24/` (the default) or `archives/dt=2026-11-24/`. */
export function partitionPrefix(day: string, table = CHATS_PREFIX): string {
  return `${table}dt=${day}/`;
}

export function pageKey(day: string, page: number): string {
  return `${partitionPrefix(day)}page-${String(page).padStart(5, '0')}.json.gz`;
}

/** The page number of a page file key, or undefined for anything else. */
export function pageNumberOf(key: string): number | undefined {
  const match = PAGE_FILE.exec(key.slice(key.lastIndexOf('/') + 1));
  return match ? Number(match[1]) : undefined;
}

export function runManifestKey(runId: string): string {
  return `${MANIFESTS_PREFIX}runs/${runId}.json`;
}

/**
 * What each day task planned, one file per run, day and attempt, partitioned by `dt` like the
 * chats so Athena (table `day_plans`) and DuckDB read them with the same projection. One JSON
 * object per file, on one line.
 */
export const DAY_PLANS_PREFIX = `${MANIFESTS_PREFIX}day-plans/`;

export function dayPlanKey(runId: string, day: string, attempt: number): string {
  return `${DAY_PLANS_PREFIX}dt=${day}/run=${runId}.plan-${attempt}.json`;
}

/**
 * Chats of erased visitors a day's archive does not hold, so `day_completeness` does not count
 * them as missing (table `dropped_chats`): one file per unit of a pass that dropped some at write,
 * one per file an erase rewrote. Counts only, no chat or visitor identifier.
 */
export const DROPPED_CHATS_PREFIX = `${MANIFESTS_PREFIX}dropped-chats/`;

/** `unit` names a page or slice of the pass, e.g. `page-3`, `slice-h07`. */
export function droppedAtWriteKey(runId: string, day: string, attempt: number, unit: string): string {
  return `${DROPPED_CHATS_PREFIX}dt=${day}/run=${runId}.attempt-${attempt}.${unit}.json`;
}

/** Chats an erase (its record's hash) removed from one file that run `runId` wrote. */
export function droppedByEraseKey(runId: string, day: string, erasure: string, file: string): string {
  const name = file.slice(file.lastIndexOf('/') + 1).replace(/\.json\.gz$/, '');
  return `${DROPPED_CHATS_PREFIX}dt=${day}/run=${runId}.erase-${erasure.slice(0, 16)}.${name}.json`;
}

/** Created once by the first worker that sees drift, so one re-archive is queued, not one per page. */
export function replanClaimKey(runId: string, day: string, attempt: number): string {
  return `${MANIFESTS_PREFIX}runs/${runId}/${day}/replan-${attempt}.json`;
}

/** Records the time zone a lake's days are cut in: one small object per zone ever used (there should be one). */
export const TIME_ZONE_RECORD_PREFIX = `${MANIFESTS_PREFIX}time-zone/`;

export function timeZoneRecordKey(timeZone: string): string {
  return `${TIME_ZONE_RECORD_PREFIX}${timeZone}.json`;
}

/** The zone a time-zone record names, or undefined for any other key. */
export function timeZoneOfRecord(key: string): string | undefined {
  return key.startsWith(TIME_ZONE_RECORD_PREFIX) && key.endsWith('.json')
    ? key.slice(TIME_ZONE_RECORD_PREFIX.length, -'.json'.length)
    : undefined;
}

/**
 * Records the filters a lake's runs select chats with: `unfiltered.json`, or `filtered-<hash>.json`
 * holding the filter set. One object per set ever used (there should be one).
 */
export const FILTERS_RECORD_PREFIX = `${MANIFESTS_PREFIX}filters/`;
export const UNFILTERED_RECORD_KEY = `${FILTERS_RECORD_PREFIX}unfiltered.json`;
