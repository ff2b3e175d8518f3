/**
 * Compaction of settled days into Parquet (ZSTD), holding the latest copy of each chat, and the
 * day's JSON files go. A small day (at most SMALL_DAY_CHATS chats) goes into its month's file,
 * `compacted/<table>month=<yyyy-MM>/` (one object per month and table, each row's day in a `dt`
 * column), a busier day into a file of its own under `compacted/<table>dt=<day>/`. Readers (the DuckDB views here, the Athena views `chats` and `chat_threads`)
 * read a table's JSON files and its compacted files together, so a day is never missing in
 * between; the latest-copy logic of the named queries keeps one row per chat meanwhile.
 *
 * - Which version of a chat a day keeps is decided as a day's settling decides it
 *   (day-consolidation.ts `chooseVersions`): the newest fetch wins, a v3.6 stub never does, chats
 *   of erased visitors are left out.
 * - Only settled days are compacted (every JSON file is a settle's output, or a webhook's thread):
 *   a day with pass files is being archived, and is left for its settle.
 * - A re-archive of a compacted day writes JSON again; compacting the day again merges that JSON
 *   with the day's Parquet (the new fetch wins, chats it did not return stay) into a new file.
 * - A month is compacted as a whole: its file is read (every day it holds), merged with the days
 *   compacted now, and written again as one new file.
 * - Write before delete: the new files' keys are derived from the files they merged, and exactly
 *   those files are deleted after they are written, the compacted ones first and the JSON last. A
 *   crash in between leaves both copies (queries count each chat once) and JSON files, so the next
 *   run compacts the month again and merges them; a run over compacted days changes nothing.
 * - An erase recorded while a day is compacted: the erasure records are read after the day's
 *   files and again after its deletes; when one was added, the day is compacted again, so a
 *   visitor erased meanwhile is not carried into the Parquet file.
 * - `chat_files` (`chat-files/dt=…/<chat>.<ref>.json`, one JSON object per attachment reference)
 *   goes with its day, into the same month or day file as the day's chats
 *   (`compacted/chat-files/…`): the row each file's readers keep (CHAT_FILE_ORDER), and only rows
 *   of chats the day keeps (an erased visitor's rows are not carried in, whatever the erase's
 *   progress). A day with new rows only (a re-archive's files task) is compacted again too.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { ChatFileRow } from './chat-files-table.ts';
import { SMALL_DAY_CHATS } from './compacted-columns.ts';
import { chooseVersions, type MergedTable, rowOf, type TableRows } from './day-consolidation.ts';
import {
  CHAT_FILES_PREFIX,
  COMPACTED_PREFIX,
  compactedKey,
  compactedMonthKey,
  compactedTablePrefix,
  isFinishedChatFile,
  monthPartitionPrefix,
  partitionPrefix,
} from './lake-layout.ts';
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
  /** A day with at most this many chats goes into its month's file (default SMALL_DAY_CHATS; 0: every day a file of its own). */
  smallDayChats?: number;
  /** Loads the lake's erasure records; called after a month's files are read and after its deletes. */
  erasures: () => Promise<ErasureCheck>;
  /** Called after each month. */
  onMonth?: (month: CompactedMonth) => void;
  /**
   * Called after a day file is written, before its inputs are deleted: a folder lake gives it the
   * modification time of the newest input, so `prune` expires it with its day. (A month file's
   * days expire by their rows' archive times: prune-local-lake.ts.)
   */
  keepAge?: (written: string, inputs: readonly string[]) => Promise<void>;
}

export interface CompactedDay {
  day: string;
  /** `compacted`: written now; `not_settled`: a pass is still writing it (left alone). */
  status: 'compacted' | 'not_settled';
  /** Chats (first table) the compacted day holds. */
  chats: number;
  /** Where its rows went: its month's file, or a file of its own. */
  into?: 'month' | 'day';
}

/** One month's compaction: its days compacted now, the objects read and written. */
export interface CompactedMonth {
  month: string;
  days: CompactedDay[];
  /** Objects read (JSON, and the month's and days' earlier Parquet files) and their bytes. */
  read: { files: number; bytes: number };
  written: { files: number; bytes: number; keys: string[] };
}

export interface CompactResult {
  days: CompactedDay[];
  months: CompactedMonth[];
}

/** Compaction passes over one month when erasures keep arriving during it. */
const MAX_PASSES = 5;

/** Compacts every settled day with JSON files in `[from, to]`; a day already compacted (no JSON left) is not touched. */
export async function compactLake(options: CompactOptions): Promise<CompactResult> {
  const byMonth = new Map<string, string[]>();
  for (const day of await daysWithJson(options)) {
    const month = day.slice(0, 7);
    byMonth.set(month, [...(byMonth.get(month) ?? []), day]);
  }
  const workbench = await ParquetWorkbench.open();
  try {
    const result: CompactResult = { days: [], months: [] };
    for (const [month, days] of byMonth) {
      const compacted = await compactMonth(options, workbench, month, days);
      result.months.push(compacted);
      result.days.push(...compacted.days);
      options.onMonth?.(compacted);
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
  for (const key of await sink.list(CHAT_FILES_PREFIX)) {
    const day = dayOfKey(key);
    if (day && key.endsWith('.json') && (!from || day >= from) && (!to || day <= to)) days.add(day);
  }
  return [...days].sort();
}

function dayOfKey(key: string): string | undefined {
  return /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/** One day's rows of every table, as read from the month file, the day's file and its JSON. */
type DayRows = Map<string, TableRows[]>;

async function compactMonth(
  options: CompactOptions,
  workbench: ParquetWorkbench,
  month: string,
  days: readonly string[],
): Promise<CompactedMonth> {
  const { sink, tables } = options;
  const smallDayChats = options.smallDayChats ?? SMALL_DAY_CHATS;
  let last: CompactedMonth | undefined;
  for (let pass = 0; pass < MAX_PASSES; pass += 1) {
    const inputs = await listInputs(sink, tables, month, days);
    const todo = days.filter((day) => !inputs.notSettled.has(day));
    const notSettled: CompactedDay[] = [...inputs.notSettled].map((day) => ({ day, status: 'not_settled', chats: 0 }));
    if (todo.length === 0) return { month, days: notSettled, read: { files: 0, bytes: 0 }, written: none() };

    const read = { files: 0, bytes: 0 };
    const readKeys: string[] = [];
    const byDay: DayRows = new Map();
    const rowsOf = (day: string, table: MergedTable) => {
      let dayRows = byDay.get(day);
      if (!dayRows) {
        dayRows = tables.map((t) => ({ table: t, rows: [], unkeyed: [] }));
        byDay.set(day, dayRows);
      }
      return dayRows[tables.indexOf(table)]!;
    };
    const add = (day: string, table: MergedTable, line: string) => {
      const row = rowOf(line, table, false);
      if (row) rowsOf(day, table).rows.push(row);
      else rowsOf(day, table).unkeyed.push(line);
    };
    for (const { table, key, day } of inputs.files) {
      const body = await sink.get(key);
      if (!body) continue; // deleted since it was listed: its rows are in what replaced it
      readKeys.push(key);
      read.files += 1;
      read.bytes += body.byteLength;
      if (!day) {
        for (const { line, dt } of await workbench.linesWithDays(body)) add(dt, table, line);
        continue;
      }
      const lines = key.endsWith('.parquet')
        ? await workbench.lines(body)
        : (await gunzipAsync(body)).toString('utf8').split('\n');
      for (const line of lines) if (line) add(day, table, line);
    }
    /** Per day: the chat_files rows read (JSON objects, the day's and the month's compacted files). */
    const fileLines = new Map<string, string[]>();
    const addFileLine = (day: string, line: string) => fileLines.set(day, [...(fileLines.get(day) ?? []), line]);
    for (const { key, day } of inputs.fileRows) {
      const body = await sink.get(key);
      if (!body) continue;
      readKeys.push(key);
      read.files += 1;
      read.bytes += body.byteLength;
      if (!day) for (const { line, dt } of await workbench.linesWithDays(body)) addFileLine(dt, line);
      else if (key.endsWith('.parquet')) for (const line of await workbench.lines(body)) addFileLine(day, line);
      else for (const line of Buffer.from(body).toString('utf8').split('\n')) if (line.trim()) addFileLine(day, line);
    }
    const erased = await options.erasures();
    const compacted: CompactedDay[] = [];
    /** Per table prefix: the month file's lines and their days; per day file: its lines per table prefix. */
    const monthLines = new Map<string, { lines: string[]; days: string[] }>();
    const dayLines = new Map<string, Map<string, string[]>>();
    for (const day of [...new Set([...byDay.keys(), ...fileLines.keys()])].sort()) {
      const dayRows = byDay.get(day) ?? tables.map((table) => ({ table, rows: [], unkeyed: [] }));
      const { chosen, chats } = chooseVersions(dayRows, (record) => erased.isErased(record), new Set());
      const small = !todo.includes(day) || chats <= smallDayChats;
      if (todo.includes(day)) compacted.push({ day, status: 'compacted', chats, into: small ? 'month' : 'day' });
      const owners = new Set(chosen.flatMap(({ rows }) => rows.map((row) => row.id)));
      const files = { prefix: CHAT_FILES_PREFIX, rows: [], unkeyed: latestFileRows(fileLines.get(day) ?? [], owners) };
      for (const { prefix, rows, unkeyed } of [...chosen, files]) {
        const lines = [...rows.map((row) => row.line), ...unkeyed];
        if (small) {
          const entry = monthLines.get(prefix) ?? { lines: [], days: [] };
          entry.lines.push(...lines);
          entry.days.push(...lines.map(() => day));
          monthLines.set(prefix, entry);
        } else {
          const entry = dayLines.get(day) ?? new Map<string, string[]>();
          entry.set(prefix, lines);
          dayLines.set(day, entry);
        }
      }
    }

    const digest = createHash('sha256').update(readKeys.sort().join('\n')).digest('hex').slice(0, 16);
    const written = none();
    const put = async (key: string, body: Uint8Array) => {
      await sink.put(key, body, 'parquet');
      written.keys.push(key);
      written.files += 1;
      written.bytes += body.byteLength;
    };
    for (const prefix of [...tables.map((table) => table.prefix), CHAT_FILES_PREFIX]) {
      const entry = monthLines.get(prefix);
      if (!entry || entry.lines.length === 0) continue;
      const schema = SCHEMA_OF_TABLE[prefix] ?? [];
      await put(compactedMonthKey(month, prefix, digest), await workbench.write(entry.lines, schema, entry.days));
    }
    for (const [day, perTable] of dayLines) {
      for (const [prefix, lines] of perTable) {
        if (lines.length === 0) continue;
        const key = compactedKey(day, prefix, digest);
        await put(key, await workbench.write(lines, SCHEMA_OF_TABLE[prefix] ?? []));
        // A chat_files file has the age of its rows' inputs (as its row objects, and the bytes they point to, had).
        const table =
          prefix === CHAT_FILES_PREFIX ? [CHAT_FILES_PREFIX, compactedTablePrefix(CHAT_FILES_PREFIX)] : undefined;
        await options.keepAge?.(
          key,
          readKeys.filter((k) => dayOfKey(k) === day && (!table || table.some((t) => k.startsWith(t)))),
        );
      }
    }
    // Compacted inputs first, JSON last: a crash in between leaves JSON, so the next run merges the month again.
    const keep = new Set(written.keys);
    const stale = readKeys.filter((key) => !keep.has(key));
    const staleParquet = stale.filter((key) => key.endsWith('.parquet'));
    if (staleParquet.length > 0) await sink.delete(staleParquet);
    const staleJson = stale.filter((key) => !key.endsWith('.parquet'));
    if (staleJson.length > 0) await sink.delete(staleJson);
    last = { month, days: [...compacted, ...notSettled].sort((a, b) => a.day.localeCompare(b.day)), read, written };

    const erasedAfter = await options.erasures();
    if (sameHashes(erased.hashes(), erasedAfter.hashes())) return last;
  }
  if (!last) throw new Error(`compaction of ${month} found nothing to compact`);
  return last;
}

const none = () => ({ files: 0, bytes: 0, keys: [] as string[] });

/**
 * The `chat_files` row each file keeps (CHAT_FILE_ORDER: per chat and URL, a `stored` row first,
 * then the newest `fetched_at`, `run_id`), of the chats in `owners` only, in the order read.
 */
export function latestFileRows(lines: readonly string[], owners: ReadonlySet<string>): string[] {
  const best = new Map<string, { line: string; row: ChatFileRow }>();
  for (const line of lines) {
    const row = JSON.parse(line) as ChatFileRow;
    const owner = row.thread_id ?? row.chat_id;
    if (!owners.has(owner)) continue;
    const key = `${owner}\n${row.url}`;
    const kept = best.get(key);
    if (!kept || fileRowBefore(row, kept.row)) best.set(key, { line, row });
  }
  return [...best.values()].map(({ line }) => line);
}

function fileRowBefore(row: ChatFileRow, than: ChatFileRow): boolean {
  const stored = (r: ChatFileRow) => r.status === 'stored';
  if (stored(row) !== stored(than)) return stored(row);
  if (row.fetched_at !== than.fetched_at) return row.fetched_at > than.fetched_at;
  return row.run_id > than.run_id;
}

/** A file a month's compaction reads: `day` is its partition's day, none for the month file (its rows carry theirs). */
interface InputFile {
  table: MergedTable;
  key: string;
  day?: string;
}

/** The month's compacted files and, for each day, its JSON files and its own compacted files. */
async function listInputs(
  sink: LakeSink,
  tables: readonly MergedTable[],
  month: string,
  days: readonly string[],
): Promise<{ files: InputFile[]; fileRows: { key: string; day?: string }[]; notSettled: Set<string> }> {
  const files: InputFile[] = [];
  const notSettled = new Set<string>();
  const dayFiles: InputFile[] = [];
  for (const table of tables) {
    const monthKeys = await sink.list(monthPartitionPrefix(month, compactedTablePrefix(table.prefix)));
    files.push(...monthKeys.filter((key) => key.endsWith('.parquet')).map((key) => ({ table, key })));
    for (const day of days) {
      const json = (await sink.list(partitionPrefix(day, table.prefix))).filter((key) => key.endsWith('.json.gz'));
      if (json.some((key) => !isFinishedChatFile(key))) notSettled.add(day);
      const parquet = (await sink.list(partitionPrefix(day, compactedTablePrefix(table.prefix)))).filter((key) =>
        key.endsWith('.parquet'),
      );
      dayFiles.push(...[...parquet, ...json].map((key) => ({ table, key, day })));
    }
  }
  files.push(...dayFiles.filter((file) => !notSettled.has(file.day!)));
  // chat_files: the month's compacted rows, and each settled day's compacted and JSON rows.
  const compactedFiles = compactedTablePrefix(CHAT_FILES_PREFIX);
  const fileRows: { key: string; day?: string }[] = (await sink.list(monthPartitionPrefix(month, compactedFiles)))
    .filter((key) => key.endsWith('.parquet'))
    .map((key) => ({ key }));
  for (const day of days.filter((d) => !notSettled.has(d))) {
    const compacted = await sink.list(partitionPrefix(day, compactedFiles));
    const json = await sink.list(partitionPrefix(day, CHAT_FILES_PREFIX));
    fileRows.push(
      ...compacted.filter((key) => key.endsWith('.parquet')).map((key) => ({ key, day })),
      ...json.filter((key) => key.endsWith('.json')).map((key) => ({ key, day })),
    );
  }
  return { files, fileRows, notSettled };
}

function sameHashes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((hash, i) => hash === b[i]);
}

/** True when `key` is a compacted (Parquet) day or month file of a chat table. */
export function isCompactedFile(key: string): boolean {
  return key.startsWith(COMPACTED_PREFIX) && key.endsWith('.parquet');
}
