import { createHash } from 'node:crypto';

/**
 * Where things live in the lake. Chat files are written under keys unique to the pass that
 * fetched them (run, attempt, unit), so no pass ever overwrites another's file and a task
 * delivered twice rewrites only its own key. Settling a day merges a partition's files into one
 * version per chat (functions/lake/day-consolidation.ts).
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

/**
 * Settled days compacted into Parquet (functions/lake/compaction.ts): `compacted/chats/dt=…/`,
 * `compacted/archives/dt=…/`, one file per day and table. The tables' readers (DuckDB views, the
 * Athena views `chats` and `chat_threads`) read them with the JSON files of days not compacted yet.
 */
export const COMPACTED_PREFIX = 'compacted/';

/** Where a JSON table's compacted days go: `chats/` → `compacted/chats/`. */
export function compactedTablePrefix(table: string): string {
  return `${COMPACTED_PREFIX}${table}`;
}

/** Compacted prefixes of every chat table: erased, expired and read like the JSON ones. */
export const COMPACTED_TABLE_PREFIXES: readonly string[] = CHAT_TABLE_PREFIXES.map(compactedTablePrefix);

/**
 * A compacted day of a table: `compacted/chats/dt=2026-11-24/compacted-<digest of its inputs>.parquet`
 * (one file, local compaction), or `…compacted-<digest>-00001.parquet` (part of what an Athena UNLOAD wrote).
 */
export function compactedKey(day: string, table: string, digest: string, part?: number): string {
  const suffix = part === undefined ? '' : `-${String(part).padStart(5, '0')}`;
  return `${partitionPrefix(day, compactedTablePrefix(table))}compacted-${digest}${suffix}.parquet`;
}

/**
 * A compacted month of a table: `compacted/chats/month=2026-11/compacted-<digest>.parquet` holds the
 * small days of that month (functions/lake/compaction.ts), each row with its day in a `dt` column;
 * `…compacted-<digest>-00001.parquet` is part of what an Athena UNLOAD wrote.
 */
export function compactedMonthKey(month: string, table: string, digest: string, part?: number): string {
  const suffix = part === undefined ? '' : `-${String(part).padStart(5, '0')}`;
  return `${monthPartitionPrefix(month, compactedTablePrefix(table))}compacted-${digest}${suffix}.parquet`;
}

/** A month's partition of a compacted table: `compacted/chats/month=2026-11/`. */
export function monthPartitionPrefix(month: string, table: string): string {
  return `${table}month=${month}/`;
}

/** `2026-11` of a compacted month file's key; undefined for any other key. */
export function monthOfKey(key: string): string | undefined {
  return /(?:^|\/)month=(\d{4}-\d{2})\//.exec(key)?.[1];
}

/** The bytes of the files chats point to (attachments), as fetched: `files/dt=…/<chat>/<ref>-<name>`. */
export const FILES_PREFIX = 'files/';
/** One JSON row per attachment reference (table `chat_files`): `chat-files/dt=…/<chat>.<ref>.json`. */
export const CHAT_FILES_PREFIX = 'chat-files/';
/** What erase removes and retention expires besides the chat tables: a chat's files and their rows. */
export const FILE_PREFIXES: readonly string[] = [FILES_PREFIX, CHAT_FILES_PREFIX];

/**
 * A file reference's id: the same chat (v2 chat id, v3.6 thread id) and URL always give the same
 * keys, so re-archiving a day finds the file it stored and never downloads it again.
 */
export function fileRefId(owner: string, url: string): string {
  return createHash('sha256').update(`${owner}\n${url}`).digest('hex').slice(0, 20);
}

/** A key-safe form of an id or file name (letters, digits, `.`, `_`, `-`; at most 80 characters). */
function keySafe(text: string, fallback: string): string {
  const safe = text
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(-80);
  return safe || fallback;
}

/** The stored bytes of one file: `files/dt=2026-11-24/<chat>/<ref id>-<name>`. */
export function fileKey(day: string, owner: string, refId: string, name: string): string {
  // A name ending like a folder lake's work files (`.partial`, `.lock`) would be hidden or swept as one.
  const file = keySafe(name, 'file').replace(/\.(partial|lock|stale-lock)$/, '.$1_');
  return `${partitionPrefix(day, FILES_PREFIX)}${keySafe(owner, 'chat')}/${refId}-${file}`;
}

/** A chat's stored files in a day: what erase deletes. */
export function chatFilesFolder(day: string, owner: string): string {
  return `${partitionPrefix(day, FILES_PREFIX)}${keySafe(owner, 'chat')}/`;
}

/** The `chat_files` row of one file reference: `chat-files/dt=2026-11-24/<chat>.<ref id>.json`. */
export function chatFileRowKey(day: string, owner: string, refId: string): string {
  return `${chatFileRowsPrefix(day, owner)}${refId}.json`;
}

/** A chat's `chat_files` rows in a day. */
export function chatFileRowsPrefix(day: string, owner: string): string {
  return `${partitionPrefix(day, CHAT_FILES_PREFIX)}${keySafe(owner, 'chat')}.`;
}

/** A day's partition of a table: `chats/dt=2026-11-24/` (the default) or `archives/dt=2026-11-24/`. */
export function partitionPrefix(day: string, table = CHATS_PREFIX): string {
  return `${table}dt=${day}/`;
}

/**
 * One pass over a day: an attempt of a run, and the plan that day task made (a random id, so a
 * re-run with the same run id, or a redelivered day task, never overwrites an earlier pass's files).
 */
export interface Pass {
  runId: string;
  attempt: number;
  plan: string;
}

/** The file-name start every unit file of a pass carries: `run=<run>.attempt-<n>.<plan>.` */
export function passFilePrefix(pass: Pass): string {
  return `run=${pass.runId}.attempt-${pass.attempt}.${pass.plan}.`;
}

/**
 * A unit file of a pass: `chats/dt=2026-11-24/run=local-20261125T010000.000Z-5c1e0a.attempt-1.3f9a0c.page-00003.json.gz`;
 * `unit` names the file within the pass (`page-00003`, `v36-h07-part-00002`).
 */
export function passFileKey(day: string, pass: Pass, unit: string, table?: string): string {
  return `${partitionPrefix(day, table)}${passFilePrefix(pass)}${unit}.json.gz`;
}

/** True when `key` is a unit file the pass wrote. */
export function isPassFile(key: string, pass: Pass): boolean {
  return key.slice(key.lastIndexOf('/') + 1).startsWith(passFilePrefix(pass));
}

/** v2 page `page` of a pass, in `chats/`. */
export function pageKey(day: string, page: number, pass: Pass): string {
  return passFileKey(day, pass, `page-${String(page).padStart(5, '0')}`);
}

/** A file a day's settling wrote: `settled-<digest of the files it merged>-part-00001.json.gz`. */
export function settledKey(day: string, table: string, digest: string, part: number): string {
  return `${partitionPrefix(day, table)}settled-${digest}-part-${String(part).padStart(5, '0')}.json.gz`;
}

/**
 * A day's JSON file that no pass is still writing, which compaction may take in: a settle's
 * output, or a webhook's thread (`webhook-<thread>.json.gz`, written whole for one thread: it
 * may sit beside a day compacted earlier). Every other JSON file is a pass's unit, to be settled.
 */
export function isFinishedChatFile(key: string): boolean {
  return /\/(?:settled-[0-9a-f]+-part-\d+|webhook-[A-Za-z0-9]+)\.json\.gz$/.test(key);
}

/**
 * One record per day (`dt=<day>.json`) that every merge of the day's partition (a pass settling it,
 * a late webhook) replaces by compare-and-swap before it deletes what it merged: of two merges
 * that read the same files, only the first to swap deletes them; the other reads the day again.
 */
export const DAY_MERGES_PREFIX = `${MANIFESTS_PREFIX}day-merges/`;

export function dayMergeKey(day: string): string {
  return `${DAY_MERGES_PREFIX}dt=${day}.json`;
}

/** Run manifests (`<run>.json`); lakes written before drift claims moved also hold claims here (isLegacyDriftClaim). */
export const RUNS_PREFIX = `${MANIFESTS_PREFIX}runs/`;

export function runManifestKey(runId: string): string {
  return `${RUNS_PREFIX}${runId}.json`;
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

/**
 * Days whose chat files retention removed (table `expired_days`): `npm run prune` writes one record
 * per day before it deletes that day's files, so `day_completeness` reads the day as expired, not
 * missing. Counts only. (On S3 the `retentionDays` lifecycle rule expires files without a record.)
 */
export const EXPIRED_DAYS_PREFIX = `${MANIFESTS_PREFIX}expired-days/`;

/** `expiredAt` is an ISO-8601 UTC time; one record per prune and day. */
export function expiredDayKey(day: string, expiredAt: string): string {
  return `${EXPIRED_DAYS_PREFIX}dt=${day}/prune-${expiredAt.replace(/[-:.]/g, '')}.json`;
}

/** Drift claims: which unit of a pass queued the day's re-archive (replanClaimKey). */
export const DRIFT_CLAIMS_PREFIX = `${MANIFESTS_PREFIX}drift-claims/`;

/**
 * Created once by the first unit of a pass that sees drift, so one re-archive is queued, not one
 * per unit; it names that unit, whose redelivery sends the re-archive again (the send may have failed).
 * `manifests/drift-claims/dt=<day>/run=<run>.attempt-<n>.<plan>.json`: a record of its pass.
 */
export function replanClaimKey(pass: Pass, day: string): string {
  return `${DRIFT_CLAIMS_PREFIX}dt=${day}/${passFilePrefix(pass)}json`;
}

/**
 * A drift claim where lakes written before they moved to DRIFT_CLAIMS_PREFIX hold them,
 * `manifests/runs/<run>/<day>/replan-<n>.after-<plan>.json`: no one reads it any more.
 */
export function isLegacyDriftClaim(key: string): boolean {
  return /^manifests\/runs\/[^/]+\/\d{4}-\d{2}-\d{2}\/replan-\d+\.after-[^/]+\.json$/.test(key);
}

/** A unit of a pass is written (AWS fan-in): the unit that sees all of them queues the day's settling. */
export function unitDoneKey(pass: Pass, day: string, unit: string): string {
  return `${passDonePrefix(pass, day)}${unit}.json`;
}

/** Settled markers: a pass's settling finished (what it counted). */
export const SETTLED_PREFIX = `${MANIFESTS_PREFIX}settled/`;

/** A pass's settling finished (what it counted): a redelivered settle task reads it and does nothing more. */
export function passSettledKey(pass: Pass, day: string): string {
  return `${SETTLED_PREFIX}dt=${day}/${passFilePrefix(pass)}json`;
}

/** Unit-done markers of each pass (AWS fan-in). */
export const PASSES_PREFIX = `${MANIFESTS_PREFIX}passes/`;

export function passDonePrefix(pass: Pass, day: string): string {
  return `${PASSES_PREFIX}dt=${day}/${passFilePrefix(pass)}`;
}

/** v3.6: what each part of a slice held, written with the part (functions/sources/v36/slice-layout.ts). */
export const SLICE_READS_PREFIX = `${MANIFESTS_PREFIX}slice-reads/`;

/**
 * Bookkeeping read only while a pass runs (its unit-done markers, settled marker, drift claim,
 * v3.6 slice reads) or a merge of the day runs (the day's merge record): a later pass of the day
 * writes its own, and a merge that finds its day's record gone or changed reads the day again.
 * They expire: `npm run prune` deletes a pass's records once its newest is older than the cutoff
 * (pruneRecords), and on S3 a lifecycle rule per prefix (lib/constructs/lake-bucket.ts).
 */
export const PASS_RECORD_PREFIXES: readonly string[] = [
  PASSES_PREFIX,
  SETTLED_PREFIX,
  SLICE_READS_PREFIX,
  DAY_MERGES_PREFIX,
  DRIFT_CLAIMS_PREFIX,
];

/**
 * What a pass record belongs to: its pass, `dt=<day>/run=<run>.attempt-<n>.<plan>.`, whichever
 * prefix holds it (a pass writes slice reads, then unit-done markers, a drift claim or its settled marker);
 * the key itself for a day's merge record; undefined for any other key.
 */
export function passRecordGroup(key: string): string | undefined {
  const prefix = PASS_RECORD_PREFIXES.find((start) => key.startsWith(start));
  if (prefix === undefined || !key.endsWith('.json')) return undefined;
  if (prefix === DAY_MERGES_PREFIX) return key;
  return /^(dt=\d{4}-\d{2}-\d{2}\/run=.*?\.attempt-\d+\.[^./]+\.)/.exec(key.slice(prefix.length))?.[1];
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

/**
 * Where under `manifests/` an archive run on AWS writes (the worker's IAM allows PutObject here
 * only, and DeleteObject nowhere under `manifests/`): day plans, dropped-chat counts, unit-done and
 * settled markers, drift claims, day merge records, the time-zone and filters records (and a
 * source's own records: `SourceInfo.recordPrefixes`, e.g. v3.6 `slice-reads/`). Run manifests
 * (`RUNS_PREFIX`) are written by the CLI's runs only. Erasure records and their salt
 * (`manifests/erasures/`) are only read while archiving: only `erase` writes them.
 * test/cdk/function-policies.test.ts checks every S3 request of the worker against this.
 */
export const RUN_MANIFEST_PREFIXES: readonly string[] = [
  DAY_PLANS_PREFIX,
  DROPPED_CHATS_PREFIX,
  PASSES_PREFIX,
  SETTLED_PREFIX,
  DAY_MERGES_PREFIX,
  DRIFT_CLAIMS_PREFIX,
  TIME_ZONE_RECORD_PREFIX,
  FILTERS_RECORD_PREFIX,
];
