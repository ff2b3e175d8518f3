import { readdir, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExpiredDayRecord } from '#lake/expired-days-table.ts';
import {
  CHAT_FILES_PREFIX,
  CHAT_TABLE_PREFIXES,
  COMPACTED_TABLE_PREFIXES,
  compactedTablePrefix,
  expiredDayKey,
  FILE_PREFIXES,
  isLegacyDriftClaim,
  monthOfKey,
  PASS_RECORD_PREFIXES,
  passRecordGroup,
  RUNS_PREFIX,
} from '#lake/lake-layout.ts';
import { ParquetWorkbench } from '#lake/parquet-day.ts';
import { fileVersion, LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { rewriteParquetWithout } from './rewrite-parquet-without.ts';

/**
 * Chat tables and their compacted days (a compacted file carries the age of the newest file it
 * merged), and attachments (their bytes and chat_files rows), which expire as chat files do: by
 * when they were written.
 */
/** Compacted `chat_files` (compaction.ts): a day file has its day's age, a month file's days expire with their chats. */
const COMPACTED_FILE_ROWS = compactedTablePrefix(CHAT_FILES_PREFIX);
const PRUNED_PREFIXES = [...CHAT_TABLE_PREFIXES, ...COMPACTED_TABLE_PREFIXES, ...FILE_PREFIXES, COMPACTED_FILE_ROWS];

export interface PruneOptions {
  /** The lake folder. */
  dir: string;
  olderThanDays: number;
  dryRun?: boolean;
  now?: () => Date;
}

export interface PruneResult {
  /** Chat files deleted (or, on a dry run, that would be), as lake keys. */
  files: string[];
  bytes: number;
  /** Leftovers of crashed writers deleted (`*.partial` files, which may hold chats, and stale locks); none on a dry run. */
  leftovers: string[];
  /** Compacted month files derived again without their expired days (or that would be), and those days. */
  monthFiles: { rewritten: string[]; days: string[] };
  /** Records of passes and day merges deleted (or that would be): pruneRecords. */
  records: string[];
}

/**
 * The local twin of the bucket's `retentionDays` lifecycle rule: deletes every chat file (each
 * chat table prefix) written more than `olderThanDays` days ago, by its modification time, as S3
 * expires an object by its creation time. A re-archived day is a new file and starts again: each
 * delete is conditional on the file being the one judged old, so a file an archive run rewrites
 * meanwhile stays. Leftovers of crashed writers go too, and partition folders left empty.
 * Manifests (erasure records included) stay, but for the bookkeeping of passes and merges no
 * longer running (pruneRecords). Before it deletes a day's files it records the day (table
 * `expired_days`), so `day_completeness` reads it as expired by retention, not as missing.
 */
export async function pruneLocalLake(options: PruneOptions): Promise<PruneResult> {
  const now = options.now?.() ?? new Date();
  const cutoff = now.getTime() - options.olderThanDays * 86_400_000;
  const sink = new LocalFileSink(options.dir);
  const result: PruneResult = {
    files: [],
    bytes: 0,
    // A killed run may leave a partial record (`*.partial`) beside the records it wrote.
    leftovers: options.dryRun ? [] : await sink.removeLeftovers([...PRUNED_PREFIXES, ...PASS_RECORD_PREFIXES]),
    monthFiles: { rewritten: [], days: [] },
    records: [],
  };
  // One stat gives the age and the version the delete is conditional on.
  const old: Array<{ key: string; day: string; attachment: boolean; version: string; size: number }> = [];
  for (const prefix of PRUNED_PREFIXES) {
    for (const key of await sink.list(prefix)) {
      if (monthOfKey(key)) continue; // a compacted month: its days expire one by one (pruneMonthFiles)
      const day = /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
      const attachment = FILE_PREFIXES.includes(prefix) || prefix === COMPACTED_FILE_ROWS;
      if ((!attachment && !key.endsWith('.json.gz') && !key.endsWith('.parquet')) || !day) continue;
      const info = await stat(join(options.dir, key), { bigint: true }).catch(() => undefined);
      if (!info || Number(info.mtimeNs / 1_000_000n) >= cutoff) continue;
      old.push({ key, day, attachment, version: fileVersion(info), size: Number(info.size) });
    }
  }
  // Days whose chats expire; an attachment alone (written once, never again) does not make a day expired.
  const chatFiles = old.filter((file) => !file.attachment);
  if (!options.dryRun) await recordExpiredDays(sink, chatFiles, now.toISOString(), options.olderThanDays);
  for (const file of old) {
    if (!options.dryRun && !(await sink.replaceIfUnchanged(file.key, file.version, undefined))) continue;
    result.files.push(file.key);
    result.bytes += file.size;
  }
  await pruneMonthFiles(sink, cutoff, now.toISOString(), options, result);
  result.records = await pruneRecords(sink, options.dir, cutoff, options.dryRun ?? false);
  if (!options.dryRun) {
    for (const prefix of [...PRUNED_PREFIXES, ...PASS_RECORD_PREFIXES, RUNS_PREFIX]) {
      await removeEmptyFolders(join(options.dir, prefix));
    }
  }
  result.files.sort();
  return result;
}

/**
 * The records of passes and day merges (PASS_RECORD_PREFIXES) last written before the cutoff: a
 * pass's records go together once its newest is that old (a slice still being read keeps its
 * earlier parts' records), a day's merge record once no merge swapped it since. A pass reads only
 * its own records, and only while it runs: a later pass of the day (a re-run, a resumed run)
 * writes its own. Drift claims where older lakes hold them (`manifests/runs/<run>/<day>/replan-…`,
 * read by no one now) go by their own age. Each delete is conditional on the record being the one
 * judged old.
 */
async function pruneRecords(sink: LocalFileSink, dir: string, cutoff: number, dryRun: boolean): Promise<string[]> {
  const groups = new Map<string, { newest: number; records: Array<{ key: string; version: string }> }>();
  const keys = (await Promise.all(PASS_RECORD_PREFIXES.map((prefix) => sink.list(prefix)))).flat();
  keys.push(...(await sink.list(RUNS_PREFIX)).filter(isLegacyDriftClaim));
  for (const key of keys) {
    const group = isLegacyDriftClaim(key) ? key : passRecordGroup(key);
    const info = group && (await stat(join(dir, key), { bigint: true }).catch(() => undefined));
    if (!group || !info) continue;
    const entry = groups.get(group) ?? groups.set(group, { newest: 0, records: [] }).get(group)!;
    entry.newest = Math.max(entry.newest, Number(info.mtimeNs / 1_000_000n));
    entry.records.push({ key, version: fileVersion(info) });
  }
  const deleted: string[] = [];
  for (const { newest, records } of groups.values()) {
    if (newest >= cutoff) continue;
    for (const { key, version } of records) {
      if (dryRun || (await sink.replaceIfUnchanged(key, version, undefined))) deleted.push(key);
    }
  }
  return deleted.sort();
}

/** Write before delete: one record per day whose files are about to go. */
async function recordExpiredDays(
  sink: LocalFileSink,
  files: ReadonlyArray<{ day: string }>,
  expiredAt: string,
  olderThanDays: number,
): Promise<void> {
  const perDay = new Map<string, number>();
  for (const { day } of files) perDay.set(day, (perDay.get(day) ?? 0) + 1);
  for (const [day, count] of perDay) {
    const record: ExpiredDayRecord = { day, expiredAt, files: count, olderThanDays };
    await sink.put(expiredDayKey(day, expiredAt), Buffer.from(JSON.stringify(record)), 'json');
  }
}

/** Folders below `table` left empty (partitions; a chat's folder under files/), deepest first; `table` stays. */
async function removeEmptyFolders(table: string, top = true): Promise<void> {
  let entries;
  try {
    entries = await readdir(table, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) if (entry.isDirectory()) await removeEmptyFolders(join(table, entry.name), false);
  if (!top && (await readdir(table).catch(() => ['?'])).length === 0) await rmdir(table).catch(() => undefined);
}

/**
 * Compacted month files (`compacted/<table>month=…/`) hold many days, written at different times:
 * a day of one expires when the newest `_archived_at` of its rows (its last archive, what a day
 * file's modification time is) is older than the cutoff. The file is derived again without the
 * expired days (deleted when none is left), as a compare-and-swap; each expired day is recorded
 * first, as for day files. A month file left without days is deleted (`files`), else it is
 * listed in `monthFiles.rewritten`. A compacted `chat_files` month file loses the days its
 * chats lost, and days whose rows were all fetched before the cutoff (as a row object expires by
 * when it was written).
 */
async function pruneMonthFiles(
  sink: LocalFileSink,
  cutoff: number,
  expiredAt: string,
  options: PruneOptions,
  result: PruneResult,
): Promise<void> {
  // The chat tables first: a chat_files month file then drops the days its chats lost.
  const keys = (
    await Promise.all([...COMPACTED_TABLE_PREFIXES, COMPACTED_FILE_ROWS].map((prefix) => sink.list(prefix)))
  )
    .flat()
    .filter((key) => monthOfKey(key) !== undefined && key.endsWith('.parquet'));
  if (keys.length === 0) return;
  const chatDaysExpired = new Set<string>();
  const workbench = await ParquetWorkbench.open();
  try {
    for (const key of keys) {
      const body = await sink.get(key);
      if (!body) continue;
      const fileRows = key.startsWith(COMPACTED_FILE_ROWS);
      const newest = new Map<string, string>();
      for (const { line, dt } of await workbench.linesWithDays(body)) {
        const record = JSON.parse(line) as Record<string, unknown>;
        const at = String(record[fileRows ? 'fetched_at' : '_archived_at'] ?? '');
        if (at > (newest.get(dt) ?? '')) newest.set(dt, at);
      }
      const expired = new Set(
        [...newest]
          .filter(([day, at]) => Date.parse(at) < cutoff || (fileRows && chatDaysExpired.has(day)))
          .map(([day]) => day),
      );
      if (!fileRows) for (const day of expired) chatDaysExpired.add(day);
      if (expired.size === 0) continue;
      if (!fileRows)
        result.monthFiles.days.push(...[...expired].filter((day) => !result.monthFiles.days.includes(day)));
      if (!options.dryRun) {
        if (key.startsWith(COMPACTED_TABLE_PREFIXES[0]!)) {
          for (const day of expired) {
            const record: ExpiredDayRecord = { day, expiredAt, files: 1, olderThanDays: options.olderThanDays };
            await sink.put(expiredDayKey(day, expiredAt), Buffer.from(JSON.stringify(record)), 'json');
          }
        }
        await rewriteParquetWithout(sink, workbench, key, (_record, day) => day !== undefined && expired.has(day));
      }
      if (expired.size === newest.size) {
        result.files.push(key);
        result.bytes += body.byteLength;
      } else result.monthFiles.rewritten.push(key);
    }
    result.monthFiles.days.sort();
  } finally {
    await workbench.close();
  }
}
