/**
 * Compaction of settled days into Parquet: each day of each chat table becomes one Parquet file
 * (ZSTD) under `compacted/<table>dt=<day>/` holding the latest copy of each chat, and the day's
 * JSON files go. Readers (the DuckDB views here, the Athena views `chats` and `chat_threads`)
 * read a table's JSON files and its compacted files together, so a day is never missing in
 * between; the latest-copy logic of the named queries keeps one row per chat meanwhile.
 *
 * - Which version of a chat a day keeps is decided as a day's settling decides it
 *   (day-consolidation.ts `chooseVersions`): the newest fetch wins, a v3.6 stub never does, chats
 *   of erased visitors are left out.
 * - Only settled days are compacted (every JSON file is a settle's output): a day with pass
 *   files is being archived, and is left for its settle.
 * - A re-archive of a compacted day writes JSON again; compacting the day again merges that JSON
 *   with the day's Parquet (the new fetch wins, chats it did not return stay) into a new file.
 * - Write before delete: the new file's key is derived from the files it merged, and exactly
 *   those files are deleted after it is written. A crash in between leaves both copies (queries
 *   count each chat once) and the next run merges them; a run over compacted days changes nothing.
 * - An erase recorded while a day is compacted: the erasure records are read after the day's
 *   files and again after its deletes; when one was added, the day is compacted again, so a
 *   visitor erased meanwhile is not carried into the Parquet file.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { chooseVersions, type MergedTable, type Row, rowOf, type TableRows } from './day-consolidation.ts';
import { COMPACTED_PREFIX, compactedKey, compactedTablePrefix, partitionPrefix } from './lake-layout.ts';
import { ParquetWorkbench, SCHEMA_OF_TABLE } from './parquet-day.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

const gunzipAsync = promisify(gunzip);

/** The lake's erasure records as they are now (ErasedVisitors satisfies it). */
export interface ErasureCheck {
  isErased(record: unknown): boolean;
  hashes(): string[];
}

export interface CompactOptions {
  sink: LakeSink;
  /** The lake's tables as its source's settling merges them (the first decides a chat's version). */
  tables: readonly MergedTable[];
  /** Inclusive yyyy-MM-dd bounds of the days to compact; every day when absent. */
  from?: string;
  to?: string;
  /** Loads the lake's erasure records; called after a day's files are read and after its deletes. */
  erasures: () => Promise<ErasureCheck>;
  /** Called after each day. */
  onDay?: (day: CompactedDay) => void;
  /**
   * Called after a compacted file is written, before its inputs are deleted: a folder lake gives
   * it the modification time of the newest input, so `prune` expires it with its day.
   */
  keepAge?: (written: string, inputs: readonly string[]) => Promise<void>;
}

export interface CompactedDay {
  day: string;
  /** `compacted`: written now; `not_settled`: a pass is still writing it (left alone). */
  status: 'compacted' | 'not_settled';
  /** Chats (first table) the compacted day holds. */
  chats: number;
  /** Objects read (JSON and earlier Parquet) and their bytes; objects and bytes written. */
  read: { files: number; bytes: number };
  written: { files: number; bytes: number; keys: string[] };
}

export interface CompactResult {
  days: CompactedDay[];
}

/** Compaction passes over one day when erasures keep arriving during it. */
const MAX_PASSES = 5;

/** Compacts every settled day with JSON files in `[from, to]`; a day already compacted (no JSON left) is not touched. */
export async function compactLake(options: CompactOptions): Promise<CompactResult> {
  const days = await daysWithJson(options);
  const workbench = await ParquetWorkbench.open();
  try {
    const result: CompactResult = { days: [] };
    for (const day of days) {
      const compacted = await compactDay(options, workbench, day);
      result.days.push(compacted);
      options.onDay?.(compacted);
    }
    return result;
  } finally {
    await workbench.close();
  }
}

/** Days holding any `*.json.gz` in one of the tables, within the bounds, sorted. */
async function daysWithJson({ sink, tables, from, to }: CompactOptions): Promise<string[]> {
  const days = new Set<string>();
  for (const { prefix } of tables) {
    for (const key of await sink.list(prefix)) {
      const day = dayOfKey(key);
      if (day && key.endsWith('.json.gz') && (!from || day >= from) && (!to || day <= to)) days.add(day);
    }
  }
  return [...days].sort();
}

function dayOfKey(key: string): string | undefined {
  return /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** A settle's output: every other JSON file of a partition is a pass's unit file, still to be settled. */
const isSettledFile = (key: string) => /\/settled-[0-9a-f]+-part-\d+\.json\.gz$/.test(key);

async function compactDay(options: CompactOptions, workbench: ParquetWorkbench, day: string): Promise<CompactedDay> {
  const { sink, tables } = options;
  let last: CompactedDay | undefined;
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const inputs = await listInputs(sink, tables, day);
    if (inputs.json.some((key) => !isSettledFile(key))) {
      return { day, status: 'not_settled', chats: 0, read: { files: 0, bytes: 0 }, written: last?.written ?? none() };
    }
    const read = { files: 0, bytes: 0 };
    const tableRows: TableRows[] = [];
    const readKeys: string[] = [];
    for (const table of tables) {
      const rows: Row[] = [];
      const unkeyed: string[] = [];
      const add = (line: string) => {
        const row = rowOf(line, table, false);
        if (row) rows.push(row);
        else unkeyed.push(line);
      };
      for (const key of inputs.byTable.get(table.prefix) ?? []) {
        const body = await sink.get(key);
        if (!body) continue; // deleted since it was listed: its rows are in what replaced it
        readKeys.push(key);
        read.files += 1;
        read.bytes += body.byteLength;
        const lines = key.endsWith('.parquet')
          ? await workbench.lines(body)
          : (await gunzipAsync(body)).toString('utf8').split('\n');
        for (const line of lines) if (line) add(line);
      }
      tableRows.push({ table, rows, unkeyed });
    }
    const erased = await options.erasures();
    const { chosen, chats } = chooseVersions(tableRows, (record) => erased.isErased(record), new Set());

    const digest = createHash('sha256').update(readKeys.sort().join('\n')).digest('hex').slice(0, 16);
    const written = none();
    for (const { prefix, rows, unkeyed } of chosen) {
      const lines = [...rows.map((row) => row.line), ...unkeyed];
      if (lines.length === 0) continue;
      const body = await workbench.write(lines, SCHEMA_OF_TABLE[prefix] ?? []);
      const key = compactedKey(day, prefix, digest);
      await sink.put(key, body, 'parquet');
      await options.keepAge?.(key, readKeys);
      written.keys.push(key);
      written.files += 1;
      written.bytes += body.byteLength;
    }
    const keep = new Set(written.keys);
    const stale = readKeys.filter((key) => !keep.has(key));
    if (stale.length > 0) await sink.delete(stale);
    last = { day, status: 'compacted', chats, read, written };

    const erasedAfter = await options.erasures();
    if (sameHashes(erased.hashes(), erasedAfter.hashes())) return last;
  }
  if (!last) throw new Error(`compaction of ${day} found nothing to compact`);
  return last;
}

const none = () => ({ files: 0, bytes: 0, keys: [] as string[] });

/** A day's JSON files and compacted files, per table prefix. */
async function listInputs(
  sink: LakeSink,
  tables: readonly MergedTable[],
  day: string,
): Promise<{ json: string[]; byTable: Map<string, string[]> }> {
  const json: string[] = [];
  const byTable = new Map<string, string[]>();
  for (const { prefix } of tables) {
    const jsonKeys = (await sink.list(partitionPrefix(day, prefix))).filter((key) => key.endsWith('.json.gz'));
    const parquetKeys = (await sink.list(partitionPrefix(day, compactedTablePrefix(prefix)))).filter((key) =>
      key.endsWith('.parquet'),
    );
    json.push(...jsonKeys);
    byTable.set(prefix, [...parquetKeys, ...jsonKeys].sort());
  }
  return { json, byTable };
}

function sameHashes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((hash, i) => hash === b[i]);
}

/** True when `key` is a compacted (Parquet) day file of a chat table. */
export function isCompactedFile(key: string): boolean {
  return key.startsWith(COMPACTED_PREFIX) && key.endsWith('.parquet');
}
