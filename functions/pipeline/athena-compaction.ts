/**
 * Compaction on AWS, around Athena's UNLOAD (the SQL: functions/lake/athena-compaction-sql.ts).
 * A Step Functions state machine runs it after the night (docs/compaction.md):
 *
 * 1. `planCompaction`: the settled days outside the nightly lookback that still have JSON files,
 *    oldest first, at most `maxDays`; none while an erase is in progress or was interrupted. With
 *    month files (small days: `monthFiles`, or a month that has a month file already) a unit is
 *    the month (`yyyy-MM`), else the day; a month file holding days past `retentionDays` is a
 *    unit too (derived again without them).
 * 2. per unit (day or month), `prepareDay`: lists the day's inputs (JSON files, all settles' outputs, and the
 *    compacted files of an earlier compaction), empties the day's staging prefixes (an earlier
 *    failed attempt's output: UNLOAD writes only into an empty prefix), fingerprints the
 *    erasure records, and renders one UNLOAD per table into a staging prefix named after the
 *    inputs and this attempt (a failed unit runs again from here, never into a failed UNLOAD's files);
 * 3. the state machine runs each UNLOAD on Athena and waits for it (`athena:startQueryExecution.sync`);
 * 4. `commitDay`: copies the staged Parquet files under `compacted/<table>dt=<day>/`, then deletes
 *    exactly the inputs it listed and the staging files. Write before delete: a failure anywhere
 *    leaves the day readable (inputs, or inputs and the new files, which queries dedupe), and the
 *    next night compacts it again from whatever is there. When the erasure records changed since
 *    the day was prepared (an erase ran meanwhile and its chats may be in what UNLOAD read), the
 *    new files are dropped and the day is left as it was, for the next night.
 *
 * With attachments on (`chatFiles`), a unit's `chat_files` rows (`chat-files/dt=…/*.json`, and the
 * unit's compacted ones) are one more UNLOAD of the unit, into `compacted/chat-files/…`, and a day
 * with new rows only (a re-archive's files tasks) is planned as a day with new JSON chats is.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  CHAT_FILES_TIER,
  COMPACTED_TABLES,
  type CompactedTable,
  stagingDayPrefix,
  stagingPrefix,
  unloadDaySql,
  unloadMonthSql,
} from '#lake/athena-compaction-sql.ts';
import {
  CHAT_FILES_PREFIX,
  compactedKey,
  compactedMonthKey,
  compactedTablePrefix,
  isFinishedChatFile,
  monthOfKey,
  monthPartitionPrefix,
  partitionPrefix,
} from '#lake/lake-layout.ts';
import { parquetRowCount } from '#lake/parquet-rows.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { ERASURES_PREFIX, type ErasureRecord, SALT_KEY } from '#privacy/erasure-records.ts';
import { addDays, localDay } from '#shared/day-range.ts';

export interface CompactionSettings {
  /** The lake's chat table prefixes (the source's): `chats/`, and `archives/` for v3.6. */
  prefixes: readonly string[];
  database: string;
  bucket: string;
  timeZone: string;
  lookbackDays: number;
  settleHours: number;
  /** Most days one night compacts (a first night over a long history catches up over several nights). */
  maxDays: number;
  /** Small days: a month file per month and table (expectedChatsPerDay at most SMALL_DAY_CHATS). */
  monthFiles: boolean;
  /** The lake's retention: a month file's days before `today - retentionDays` are left out when it is derived again. */
  retentionDays?: number | undefined;
  /** Attachments on: `chat_files` rows are compacted with their unit (CHAT_FILES_TIER). */
  chatFiles?: boolean;
}

export interface CompactionPlan {
  /** The units to compact, oldest first: a day (`yyyy-MM-dd`) or a month (`yyyy-MM`, its days compacted together). */
  days: string[];
  /** Why nothing is compacted tonight, when so. */
  deferred?: string;
  /** Days with JSON that are not settled (a pass still writing), left for a later night. */
  notSettled: string[];
}

export interface Unload {
  table: string;
  sql: string;
}

export interface PreparedDay {
  /** The unit: a day, or a month (`yyyy-MM`). */
  day: string;
  /** From the inputs: names the new files, so a commit run again writes the same keys. */
  token: string;
  /**
   * This preparation's own: its UNLOADs write into `<token>-<attempt>/` and the commit copies only
   * that folder, so a unit run again from Prepare (the state machine's retry) never takes in what
   * an earlier attempt's UNLOAD left or is still writing (Athena leaves a failed query's files).
   */
  attempt: string;
  /** Keys compacted into the new files and deleted once they are in place. */
  inputs: string[];
  erasures: string;
  unloads: Unload[];
  /** A month derived again without the days before this one (retention). */
  keepFrom?: string;
}

export type Prepared = PreparedDay | { day: string; skipped: string };

export interface CommittedDay {
  day: string;
  status: 'compacted' | 'deferred';
  written: string[];
  deleted: number;
  reason?: string;
}

const dayOf = (key: string) => /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];

function tablesOf(prefixes: readonly string[]): CompactedTable[] {
  return COMPACTED_TABLES.filter((t) => prefixes.includes(t.prefix));
}

/** The tables a unit's UNLOADs may write: the chat tables and, with attachments on, chat_files. */
function unloadedTables(settings: CompactionSettings): CompactedTable[] {
  return [...tablesOf(settings.prefixes), ...(settings.chatFiles ? [CHAT_FILES_TIER] : [])];
}

/** The unit's chat_files inputs (row objects of `days`, their compacted day files, and `month`'s file), when attachments are on. */
async function fileRowInputs(
  sink: LakeSink,
  settings: CompactionSettings,
  days: readonly string[],
  month?: string,
): Promise<{ json: string[]; compacted: string[] }> {
  if (!settings.chatFiles) return { json: [], compacted: [] };
  const compactedPrefix = compactedTablePrefix(CHAT_FILES_PREFIX);
  const json: string[] = [];
  const compacted: string[] = month
    ? (await sink.list(monthPartitionPrefix(month, compactedPrefix))).filter((key) => key.endsWith('.parquet'))
    : [];
  for (const day of days) {
    json.push(...(await sink.list(partitionPrefix(day, CHAT_FILES_PREFIX))).filter((key) => key.endsWith('.json')));
    compacted.push(...(await sink.list(partitionPrefix(day, compactedPrefix))));
  }
  return { json, compacted };
}

/** The newest day the nightly run no longer archives again: before its first day. */
export function lastCompactableDay(
  now: Date,
  settings: Pick<CompactionSettings, 'timeZone' | 'lookbackDays' | 'settleHours'>,
): string {
  const lastArchived = addDays(
    localDay(new Date(now.getTime() - settings.settleHours * 3_600_000), settings.timeZone),
    -1,
  );
  return addDays(lastArchived, -settings.lookbackDays - 1);
}

/** The erasure records as they are: a fingerprint, and whether an erase is unfinished. */
async function erasureState(sink: LakeSink): Promise<{ fingerprint: string; unfinished: number }> {
  const keys = (await sink.list(ERASURES_PREFIX)).filter((key) => key.endsWith('.json') && key !== SALT_KEY).sort();
  const parts: string[] = [];
  let unfinished = 0;
  for (const key of keys) {
    const body = await sink.get(key);
    if (!body) continue;
    const record = JSON.parse(Buffer.from(body).toString('utf8')) as ErasureRecord;
    const last = record.runs.at(-1);
    if (last && !last.complete) unfinished += 1;
    parts.push(`${key}:${record.runs.length}:${last?.complete ?? true}`);
  }
  return { fingerprint: createHash('sha256').update(parts.join('\n')).digest('hex'), unfinished };
}

export async function planCompaction(sink: LakeSink, settings: CompactionSettings, now: Date): Promise<CompactionPlan> {
  const erasures = await erasureState(sink);
  if (erasures.unfinished > 0) {
    return {
      days: [],
      notSettled: [],
      deferred: `${erasures.unfinished} erasure(s) not complete (an erase is running or was interrupted: run it again); nothing is compacted until it completes`,
    };
  }
  const last = lastCompactableDay(now, settings);
  const tables = tablesOf(settings.prefixes);
  const byDay = new Map<string, string[]>();
  for (const t of tables) {
    for (const key of await sink.list(t.prefix)) {
      const day = dayOf(key);
      if (!day || !key.endsWith('.json.gz') || day > last) continue;
      byDay.set(day, [...(byDay.get(day) ?? []), key]);
    }
  }
  // A day with new chat_files rows only (a re-archive's files tasks) is compacted again too.
  if (settings.chatFiles) {
    for (const key of await sink.list(CHAT_FILES_PREFIX)) {
      const day = dayOf(key);
      if (day && key.endsWith('.json') && day <= last && !byDay.has(day)) byDay.set(day, []);
    }
  }
  const all = [...byDay.keys()].sort();
  const notSettled = all.filter((day) => !byDay.get(day)!.every(isFinishedChatFile));
  const days = all.filter((day) => !notSettled.includes(day)).slice(0, settings.maxDays);
  // Months with a month file already: their days join it (never a day file beside the month file).
  const monthFiles = (await Promise.all(tables.map((t) => sink.list(compactedTablePrefix(t.prefix)))))
    .flat()
    .filter((key) => monthOfKey(key) !== undefined && key.endsWith('.parquet'));
  const withFile = new Set(monthFiles.map((key) => monthOfKey(key)!));
  const units = new Set(
    days.map((day) => (settings.monthFiles || withFile.has(day.slice(0, 7)) ? day.slice(0, 7) : day)),
  );
  const cutoff = retentionCutoff(now, settings);
  if (cutoff) {
    for (const key of monthFiles) if (firstDayOfMonthFile(key) < cutoff) units.add(monthOfKey(key)!);
  }
  return { days: [...units].sort(), notSettled };
}

/** The first day a month's data is kept from (retentionDays): earlier days are expired. */
function retentionCutoff(now: Date, settings: CompactionSettings): string | undefined {
  return settings.retentionDays === undefined
    ? undefined
    : addDays(localDay(now, settings.timeZone), -settings.retentionDays);
}

/** A month file holds no day before the one its name gives (`…-from-yyyy-MM-dd-…`), or the month's first. */
function firstDayOfMonthFile(key: string): string {
  return /-from-(\d{4}-\d{2}-\d{2})-/.exec(key)?.[1] ?? `${monthOfKey(key)}-01`;
}

const isMonth = (unit: string) => /^\d{4}-\d{2}$/.test(unit);

export async function prepareDay(
  sink: LakeSink,
  settings: CompactionSettings,
  unit: string,
  now: Date = new Date(),
): Promise<Prepared> {
  if (isMonth(unit)) return prepareMonth(sink, settings, unit, now);
  const day = unit;
  const tables = tablesOf(settings.prefixes);
  const json: string[] = [];
  const inputs: string[] = [];
  for (const t of tables) {
    const jsonKeys = (await sink.list(partitionPrefix(day, t.prefix))).filter((key) => key.endsWith('.json.gz'));
    const compacted = await sink.list(partitionPrefix(day, compactedTablePrefix(t.prefix)));
    json.push(...jsonKeys);
    inputs.push(...jsonKeys, ...compacted);
  }
  const files = await fileRowInputs(sink, settings, [day]);
  if (json.length === 0 && files.json.length === 0) return { day, skipped: 'no JSON files: compacted already' };
  if (!json.every(isFinishedChatFile)) return { day, skipped: 'a pass is still writing it (not settled)' };
  inputs.push(...files.json, ...files.compacted);
  inputs.sort();
  const token = createHash('sha256').update(inputs.join('\n')).digest('hex').slice(0, 16);
  await clearStaging(sink, unloadedTables(settings), day);
  const { fingerprint } = await erasureState(sink);
  const attempt = newAttempt();
  const withFiles = files.json.length + files.compacted.length > 0 ? [CHAT_FILES_TIER] : [];
  const unloads = [...tables, ...withFiles].map((t) => ({
    table: t.prefix,
    sql: unloadDaySql(settings.database, t, day, stagingUrl(settings, t, day, token, attempt)),
  }));
  return { day, token, attempt, inputs, erasures: fingerprint, unloads };
}

const newAttempt = () => randomBytes(4).toString('hex');

/** Where one attempt's UNLOAD of a unit and table writes (an empty prefix, as UNLOAD requires). */
const stagingUrl = (settings: CompactionSettings, t: CompactedTable, unit: string, token: string, attempt: string) =>
  `s3://${settings.bucket}/${stagingPrefix(t.prefix, unit, `${token}-${attempt}`)}`;

/** What earlier attempts staged for the unit (UNLOAD writes only into an empty prefix; a failed one leaves files). */
async function clearStaging(sink: LakeSink, tables: readonly CompactedTable[], unit: string): Promise<void> {
  for (const t of tables) {
    const staged = await sink.list(stagingDayPrefix(t.prefix, unit));
    if (staged.length) await sink.delete(staged);
  }
}

/**
 * A month: its settled days outside the lookback that have JSON, their day files, and the month's
 * file(s), into one new month file per table; days past retention left out.
 */
async function prepareMonth(sink: LakeSink, settings: CompactionSettings, month: string, now: Date): Promise<Prepared> {
  const tables = tablesOf(settings.prefixes);
  const last = lastCompactableDay(now, settings);
  const cutoff = retentionCutoff(now, settings);
  const jsonByDay = new Map<string, string[]>();
  const monthKeys: string[] = [];
  const dayFiles: string[] = [];
  for (const t of tables) {
    for (const key of await sink.list(`${t.prefix}dt=${month}-`)) {
      const day = dayOf(key);
      if (day && key.endsWith('.json.gz') && day <= last) jsonByDay.set(day, [...(jsonByDay.get(day) ?? []), key]);
    }
    monthKeys.push(
      ...(await sink.list(monthPartitionPrefix(month, compactedTablePrefix(t.prefix)))).filter((key) =>
        key.endsWith('.parquet'),
      ),
    );
  }
  // Days with new chat_files rows only (a re-archive's files tasks) join too.
  if (settings.chatFiles) {
    for (const key of await sink.list(`${CHAT_FILES_PREFIX}dt=${month}-`)) {
      const day = dayOf(key);
      if (day && key.endsWith('.json') && day <= last && !jsonByDay.has(day)) jsonByDay.set(day, []);
    }
  }
  const days = [...jsonByDay.keys()].filter((day) => jsonByDay.get(day)!.every(isFinishedChatFile)).sort();
  for (const t of tables) {
    for (const day of days) dayFiles.push(...(await sink.list(partitionPrefix(day, compactedTablePrefix(t.prefix)))));
  }
  const files = await fileRowInputs(sink, settings, days, month);
  const keepFrom = cutoff && cutoff > `${month}-01` ? cutoff : undefined;
  const trims = keepFrom !== undefined && monthKeys.some((key) => firstDayOfMonthFile(key) < keepFrom);
  if (days.length === 0 && !trims)
    return { day: month, skipped: 'nothing to compact: no settled JSON day, no expired day' };
  const inputs = [
    ...days.flatMap((day) => jsonByDay.get(day)!),
    ...dayFiles,
    ...monthKeys,
    ...files.json,
    ...files.compacted,
  ].sort();
  const token = createHash('sha256')
    .update(`${inputs.join('\n')}\n${keepFrom ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  await clearStaging(sink, unloadedTables(settings), month);
  const { fingerprint } = await erasureState(sink);
  // Every day of the month expired: no UNLOAD (what Athena writes for an empty result is not
  // documented: nothing, or a Parquet file without rows, which would be planned again every night);
  // the commit deletes the inputs and writes nothing.
  const expired = keepFrom !== undefined && keepFrom.slice(0, 7) > month;
  const attempt = newAttempt();
  const withFiles = files.json.length + files.compacted.length > 0 ? [CHAT_FILES_TIER] : [];
  const unloads = (expired ? [] : [...tables, ...withFiles]).map((t) => ({
    table: t.prefix,
    sql: unloadMonthSql(settings.database, t, month, days, stagingUrl(settings, t, month, token, attempt), keepFrom),
  }));
  return { day: month, token, attempt, inputs, erasures: fingerprint, unloads, ...(keepFrom ? { keepFrom } : {}) };
}

export async function commitDay(
  sink: LakeSink,
  settings: CompactionSettings,
  prepared: PreparedDay,
): Promise<CommittedDay> {
  const { day, token } = prepared;
  // A month file's name says the first day it may hold (retention trims from there).
  const target = (table: string, part: number) =>
    isMonth(day)
      ? compactedMonthKey(day, table, `from-${prepared.keepFrom ?? `${day}-01`}-${token}`, part)
      : compactedKey(day, table, token, part);
  const tables = unloadedTables(settings);
  const staging = async () => (await Promise.all(tables.map((t) => sink.list(stagingDayPrefix(t.prefix, day))))).flat();
  const deferred = async (written: string[]): Promise<CommittedDay> => {
    await sink.delete([...written, ...(await staging())]);
    return { day, status: 'deferred', written: [], deleted: 0, reason: 'an erase ran while the day was compacted' };
  };
  if ((await erasureState(sink)).fingerprint !== prepared.erasures) return deferred([]);

  const written: string[] = [];
  for (const t of tables) {
    const staged = (await sink.list(stagingPrefix(t.prefix, day, `${token}-${prepared.attempt}`))).sort();
    let part = 0;
    for (const key of staged) {
      const body = await sink.get(key);
      // A file without rows (what UNLOAD writes for an empty result is undocumented) is no compacted file.
      if (!body || body.byteLength === 0 || parquetRowCount(body) === 0) continue;
      part += 1;
      const into = target(t.prefix, part);
      await sink.put(into, body, 'parquet');
      written.push(into);
    }
  }
  if ((await erasureState(sink)).fingerprint !== prepared.erasures) return deferred(written);

  const keep = new Set(written);
  const stale = prepared.inputs.filter((key) => !keep.has(key));
  // Compacted inputs first, JSON last: a failure in between leaves JSON, so the next night compacts the unit again.
  const staleParquet = stale.filter((key) => key.endsWith('.parquet'));
  if (staleParquet.length) await sink.delete(staleParquet);
  await sink.delete([...stale.filter((key) => !key.endsWith('.parquet')), ...(await staging())]);
  return { day, status: 'compacted', written, deleted: stale.length };
}
