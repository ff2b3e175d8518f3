/**
 * Compaction on AWS, around Athena's UNLOAD (the SQL: functions/lake/athena-compaction-sql.ts).
 * A Step Functions state machine runs it after the night (docs/compaction.md):
 *
 * 1. `planCompaction`: the settled days outside the nightly lookback that still have JSON files,
 *    oldest first, at most `maxDays`; none while an erase is in progress or was interrupted.
 * 2. per day, `prepareDay`: lists the day's inputs (JSON files, all settles' outputs, and the
 *    compacted files of an earlier compaction), empties the day's staging prefixes (an earlier
 *    failed attempt's output: UNLOAD writes only into an empty prefix), fingerprints the
 *    erasure records, and renders one UNLOAD per table into a staging prefix named after the
 *    inputs;
 * 3. the state machine runs each UNLOAD on Athena and waits for it (`athena:startQueryExecution.sync`);
 * 4. `commitDay`: copies the staged Parquet files under `compacted/<table>dt=<day>/`, then deletes
 *    exactly the inputs it listed and the staging files. Write before delete: a failure anywhere
 *    leaves the day readable (inputs, or inputs and the new files, which queries dedupe), and the
 *    next night compacts it again from whatever is there. When the erasure records changed since
 *    the day was prepared (an erase ran meanwhile and its chats may be in what UNLOAD read), the
 *    new files are dropped and the day is left as it was, for the next night.
 */
import { createHash } from 'node:crypto';
import {
  COMPACTED_TABLES,
  type CompactedTable,
  stagingDayPrefix,
  stagingPrefix,
  unloadDaySql,
} from '#lake/athena-compaction-sql.ts';
import { compactedKey, compactedTablePrefix, partitionPrefix } from '#lake/lake-layout.ts';
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
}

export interface CompactionPlan {
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
  day: string;
  token: string;
  /** Keys compacted into the new files and deleted once they are in place. */
  inputs: string[];
  erasures: string;
  unloads: Unload[];
}

export type Prepared = PreparedDay | { day: string; skipped: string };

export interface CommittedDay {
  day: string;
  status: 'compacted' | 'deferred';
  written: string[];
  deleted: number;
  reason?: string;
}

const isSettledFile = (key: string) => /\/settled-[0-9a-f]+-part-\d+\.json\.gz$/.test(key);
const dayOf = (key: string) => /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];

function tablesOf(prefixes: readonly string[]): CompactedTable[] {
  return COMPACTED_TABLES.filter((t) => prefixes.includes(t.prefix));
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
  const byDay = new Map<string, string[]>();
  for (const t of tablesOf(settings.prefixes)) {
    for (const key of await sink.list(t.prefix)) {
      const day = dayOf(key);
      if (!day || !key.endsWith('.json.gz') || day > last) continue;
      byDay.set(day, [...(byDay.get(day) ?? []), key]);
    }
  }
  const days = [...byDay.keys()].sort();
  const notSettled = days.filter((day) => !byDay.get(day)!.every(isSettledFile));
  return { days: days.filter((day) => !notSettled.includes(day)).slice(0, settings.maxDays), notSettled };
}

export async function prepareDay(sink: LakeSink, settings: CompactionSettings, day: string): Promise<Prepared> {
  const tables = tablesOf(settings.prefixes);
  const json: string[] = [];
  const inputs: string[] = [];
  for (const t of tables) {
    const jsonKeys = (await sink.list(partitionPrefix(day, t.prefix))).filter((key) => key.endsWith('.json.gz'));
    const compacted = await sink.list(partitionPrefix(day, compactedTablePrefix(t.prefix)));
    json.push(...jsonKeys);
    inputs.push(...jsonKeys, ...compacted);
  }
  if (json.length === 0) return { day, skipped: 'no JSON files: compacted already' };
  if (!json.every(isSettledFile)) return { day, skipped: 'a pass is still writing it (not settled)' };
  inputs.sort();
  const token = createHash('sha256').update(inputs.join('\n')).digest('hex').slice(0, 16);
  // What earlier attempts staged for the day (UNLOAD writes only into an empty prefix; a failed one leaves files).
  for (const t of tables) {
    const staged = await sink.list(stagingDayPrefix(t.prefix, day));
    if (staged.length) await sink.delete(staged);
  }
  const { fingerprint } = await erasureState(sink);
  const unloads = tables.map((t) => ({
    table: t.prefix,
    sql: unloadDaySql(settings.database, t, day, `s3://${settings.bucket}/${stagingPrefix(t.prefix, day, token)}`),
  }));
  return { day, token, inputs, erasures: fingerprint, unloads };
}

export async function commitDay(
  sink: LakeSink,
  settings: CompactionSettings,
  prepared: PreparedDay,
): Promise<CommittedDay> {
  const { day, token } = prepared;
  const tables = tablesOf(settings.prefixes);
  const staging = async () => (await Promise.all(tables.map((t) => sink.list(stagingDayPrefix(t.prefix, day))))).flat();
  const deferred = async (written: string[]): Promise<CommittedDay> => {
    await sink.delete([...written, ...(await staging())]);
    return { day, status: 'deferred', written: [], deleted: 0, reason: 'an erase ran while the day was compacted' };
  };
  if ((await erasureState(sink)).fingerprint !== prepared.erasures) return deferred([]);

  const written: string[] = [];
  for (const t of tables) {
    const staged = (await sink.list(stagingPrefix(t.prefix, day, token))).sort();
    let part = 0;
    for (const key of staged) {
      const body = await sink.get(key);
      if (!body || body.byteLength === 0) continue;
      part += 1;
      const target = compactedKey(day, t.prefix, token, part);
      await sink.put(target, body, 'parquet');
      written.push(target);
    }
  }
  if ((await erasureState(sink)).fingerprint !== prepared.erasures) return deferred(written);

  const keep = new Set(written);
  const stale = prepared.inputs.filter((key) => !keep.has(key));
  await sink.delete([...stale, ...(await staging())]);
  return { day, status: 'compacted', written, deleted: stale.length };
}
