import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import PQueue from 'p-queue';
import { dayMergeKey, isPassFile, type Pass, partitionPrefix, settledKey } from './lake-layout.ts';
import { gzipNdjson } from './ndjson-gzip.ts';
import type { LakeSink } from './sinks/lake-sink.ts';
import { type WrittenRow, writtenFiles } from './written-files.ts';

const gunzipAsync = promisify(gunzip);

/** Rows per settled file: a busy day is several files, none too large for a worker's memory. */
export const ROWS_PER_SETTLED_FILE = 5_000;

/** One table of a source, as a day's settling merges it. */
export interface MergedTable {
  /** `chats/`, `archives/`. */
  prefix: string;
  /** The row's merge key: one row per key is kept (v2 chat id, v3.6 thread id). */
  idOf(row: Record<string, unknown>): string | undefined;
  /**
   * A row that never replaces an archived version of its chat (v3.6: a thread listed past the
   * plan's retention, with `restricted_access` and no `events`).
   */
  isStub?(row: Record<string, unknown>): boolean;
}

/** One stored line of a table, with what the merge compares, and where it was read from. */
export interface Row extends WrittenRow {
  fromPass: boolean;
  /** The file the row was read from (day settling: a file whose every row is kept is copied as it is). */
  file?: string;
}

/** A line of `table` as the merge sees it; undefined when it has no merge key (kept as is). */
export function rowOf(line: string, table: MergedTable, fromPass: boolean): Row | undefined {
  const record = JSON.parse(line) as Record<string, unknown>;
  const id = table.idOf(record);
  if (id === undefined) return undefined;
  const archivedAt = String(record['_archived_at'] ?? '');
  const runId = String(record['_run_id'] ?? '');
  const page = Number(record['_page'] ?? 0);
  return {
    line,
    id,
    version: `${runId}|${archivedAt}|${page}`,
    archivedAt,
    runId,
    page,
    stub: table.isStub?.(record) ?? false,
    fromPass,
  };
}

/** One table's rows as read: keyed rows and lines without a merge key. */
export interface TableRows {
  table: MergedTable;
  rows: Row[];
  unkeyed: string[];
  /** Each file read (day settling), with its bytes and how many keyed and unkeyed lines it held. */
  files?: Map<string, ReadFile>;
}

/** A file as settling read it. */
export interface ReadFile {
  body: Uint8Array;
  rows: number;
  unkeyed: number;
}

/** Every file of a day's partition in a source's tables, read whole. */
export interface DayPartition {
  day: string;
  pass: Pass;
  /** Keys read, every table. */
  files: string[];
  tables: TableRows[];
  /** Ids (first table) the pass's own unit files hold: what the pass fetched and wrote. */
  passIds: ReadonlySet<string>;
  /**
   * The day's merge record as it was before the files were listed: its version (undefined: none
   * yet), for the compare-and-swap that lets one merge of these files delete them. Absent when the
   * sink cannot compare-and-swap.
   */
  merge?: { version: string | undefined };
}

/** Reads every chat file of the day in `tables` (the first one decides which version of a chat wins). */
export async function readDayPartition(
  sink: LakeSink,
  day: string,
  tables: readonly MergedTable[],
  pass: Pass,
): Promise<DayPartition> {
  // Before listing: a merge that committed after this read sees its outputs listed here.
  const merge = sink.getVersioned ? { version: (await sink.getVersioned(dayMergeKey(day)))?.version } : undefined;
  const files: string[] = [];
  const read = await Promise.all(
    tables.map(async (table) => {
      const keys = (await sink.list(partitionPrefix(day, table.prefix)))
        .filter((key) => key.endsWith('.json.gz'))
        .sort();
      const rows: Row[] = [];
      const unkeyed: string[] = [];
      const readFiles = new Map<string, ReadFile>();
      const bodies = readAhead(keys, (key) => sink.get(key));
      for (const [index, key] of keys.entries()) {
        const body = await bodies[index];
        if (!body) continue; // deleted since it was listed (another settle): its rows are in that settle's output
        files.push(key);
        const fromPass = isPassFile(key, pass);
        const rowsBefore = rows.length;
        const unkeyedBefore = unkeyed.length;
        // A file this process wrote, byte for byte: its lines are not gunzipped and parsed again.
        const written = writtenFiles.take(sink.location, key, body, table);
        if (written) {
          // Assigned, not spread: a written row reads its line from the page's text when asked.
          for (const row of written.rows) rows.push(Object.assign(row, { fromPass, file: key }));
          unkeyed.push(...written.unkeyed);
        } else {
          for (const line of (await gunzipAsync(body)).toString('utf8').split('\n')) {
            if (!line) continue;
            const row = rowOf(line, table, fromPass);
            if (row) {
              row.file = key;
              rows.push(row);
            } else unkeyed.push(line);
          }
        }
        readFiles.set(key, { body, rows: rows.length - rowsBefore, unkeyed: unkeyed.length - unkeyedBefore });
      }
      return { table, rows, unkeyed, files: readFiles };
    }),
  );
  const passIds = new Set((read[0]?.rows ?? []).filter((row) => row.fromPass).map((row) => row.id));
  return { day, pass, files: files.sort(), tables: read, passIds, ...(merge ? { merge } : {}) };
}

/** Files of a day read at once: a day of thousands of page files is not read one by one (an S3 GET takes tens of ms). */
const FILE_READS_AT_ONCE = 8;

/**
 * `read` of every key, at most FILE_READS_AT_ONCE at a time: the caller awaits them in key order
 * while the next files are read. A failed read fails the caller when it gets there (marked handled
 * until then, so one the caller never reaches is no unhandled rejection).
 */
function readAhead<T>(keys: readonly string[], read: (key: string) => Promise<T>): Promise<T | undefined>[] {
  const reads = new PQueue({ concurrency: FILE_READS_AT_ONCE });
  return keys.map((key) => {
    const reading = reads.add(() => read(key)) as Promise<T | undefined>;
    reading.catch(() => undefined);
    return reading;
  });
}

export interface SettledDay {
  /** Chats (first table) the day holds after settling. */
  chats: number;
  /** Of those, chats whose kept version is not the pass's: LiveChat no longer returned them (or returned a stub). */
  kept: number;
  /** Chats of erased visitors left out. */
  erased: number;
  written: string[];
  deleted: string[];
  /**
   * Another merge of the day committed after these files were read: nothing was deleted, this
   * merge's own outputs were removed again, and the day must be read and merged again.
   */
  superseded?: boolean;
}

/**
 * Merges a day's partition into one version per chat and writes it before deleting anything:
 * the newest fetch of a chat wins (`_archived_at`, then `_run_id`, then `_page`, as the named
 * queries pick the latest copy), a stub never wins over an archived version, and every table
 * keeps, per chat, the version the first table chose. Chats of erased visitors (`isErased`, loaded
 * after the files were read, so an erasure recorded while they were read still applies) are left
 * out of every table. The merged files go under keys derived from the files read, then exactly
 * those files are deleted: a crash in between leaves duplicates that queries dedupe and the
 * next settling merges; a file written after the listing is neither read nor deleted.
 *
 * Merges of one day can run at once (two late webhooks, a webhook and a pass, two passes): each
 * would keep the rows both read, twice. Between writing and deleting, a merge therefore swaps the
 * day's merge record (`manifests/day-merges/`) from the version it saw before listing to one
 * naming its outputs; only one of merges that saw the same version succeeds. The others delete
 * nothing, take back their outputs (those the record does not name) and answer `superseded`:
 * read the day again (`mergeDay`).
 */
export async function settleDayPartition(
  sink: LakeSink,
  partition: DayPartition,
  /** Undefined when no visitor was ever erased (no line is parsed again). */
  isErased: ((record: Record<string, unknown>) => boolean) | undefined,
  /** The chat ids the settling pass fetched: a chat the day holds that is not among them is kept. */
  fetched: ReadonlySet<string>,
): Promise<SettledDay> {
  const { chosen, chats, kept, erased } = chooseVersions(partition.tables, isErased, fetched);
  const result: SettledDay = { chats, kept, erased, written: [], deleted: [] };

  const rowsRead = partition.tables.reduce((sum, { rows, unkeyed }) => sum + rows.length + unkeyed.length, 0);
  const rowsKept = chosen.reduce((sum, { rows, unkeyed }) => sum + rows.length + unkeyed.length, 0);
  if (partition.files.length === 0 || (alreadySettled(partition.files) && rowsRead === rowsKept)) return result;

  const digest = createHash('sha256').update(partition.files.join('\n')).digest('hex').slice(0, 16);
  for (const [index, { prefix, rows, unkeyed }] of chosen.entries()) {
    const parts = await settledParts(rows, unkeyed, sink.concatenatedGzip ? partition.tables[index]?.files : undefined);
    for (const [offset, body] of parts.entries()) {
      const key = settledKey(partition.day, prefix, digest, offset + 1);
      await sink.put(key, body, 'ndjson-gzip');
      result.written.push(key);
    }
  }
  if (!(await commitMerge(sink, partition, result.written))) {
    const named = await mergeOutputsNamed(sink, partition.day);
    const own = result.written.filter((key) => !named.has(key));
    if (own.length) await sink.delete(own);
    return { ...result, written: [], superseded: true };
  }
  const written = new Set(result.written);
  result.deleted = partition.files.filter((key) => !written.has(key));
  if (result.deleted.length) await sink.delete(result.deleted);
  return result;
}

/**
 * The settled files of one table, at most ROWS_PER_SETTLED_FILE rows each. With `files` (a lake
 * whose readers decode every gzip member: LakeSink.concatenatedGzip), a file read whose every line
 * is kept (a pass's page of chats seen once, the usual case) is copied as it is, as one gzip member
 * of a settled file (RFC 1952: a gzip file is a series of members; gunzip, Node's zlib and DuckDB
 * decode them all in turn); only the other lines are compressed again. Without, every settled
 * file is one gzip stream (an S3 lake: Athena does not document reading concatenated members).
 */
async function settledParts(
  rows: readonly Row[],
  unkeyed: readonly string[],
  files: ReadonlyMap<string, ReadFile> | undefined,
): Promise<Buffer[]> {
  const keptPerFile = new Map<string, number>();
  for (const row of rows) if (row.file) keptPerFile.set(row.file, (keptPerFile.get(row.file) ?? 0) + 1);
  const whole = new Set(
    [...keptPerFile]
      .filter(([key, kept]) => {
        const file = files?.get(key);
        return file !== undefined && file.unkeyed === 0 && file.rows === kept;
      })
      .map(([key]) => key),
  );
  const pieces: { rows: number; body: Uint8Array }[] = [];
  for (const key of whole) {
    const file = files!.get(key)!;
    pieces.push({ rows: file.rows, body: file.body });
  }
  const lines = [...rows.filter((row) => !row.file || !whole.has(row.file)).map((row) => row.line), ...unkeyed];
  for (let start = 0; start < lines.length; start += ROWS_PER_SETTLED_FILE) {
    const slice = lines.slice(start, start + ROWS_PER_SETTLED_FILE);
    pieces.push({
      rows: slice.length,
      body: await gzipNdjson(Buffer.from(`${slice.join('\n')}\n`, 'utf8')),
    });
  }
  const parts: Uint8Array[][] = [];
  let partRows = 0;
  for (const piece of pieces) {
    if (parts.length === 0 || partRows + piece.rows > ROWS_PER_SETTLED_FILE) {
      parts.push([]);
      partRows = 0;
    }
    parts.at(-1)!.push(piece.body);
    partRows += piece.rows;
  }
  return parts.map((members) => Buffer.concat(members));
}

/** Merges of one day that keep meeting newer merges give up after this many reads (the task is retried). */
export const MAX_DAY_MERGES = 5;

export class DayMergeContendedError extends Error {
  override name = 'DayMergeContendedError';
}

/**
 * Reads the day and merges it (`settle`: settleDayPartition with the caller's erasure check and
 * fetched ids) until the merge commits: a merge superseded by another reads the day again.
 */
export async function mergeDay(
  sink: LakeSink,
  day: string,
  tables: readonly MergedTable[],
  pass: Pass,
  settle: (partition: DayPartition) => Promise<SettledDay>,
): Promise<{ partition: DayPartition; settled: SettledDay }> {
  for (let attempt = 1; attempt <= MAX_DAY_MERGES; attempt += 1) {
    const partition = await readDayPartition(sink, day, tables, pass);
    const settled = await settle(partition);
    if (!settled.superseded) return { partition, settled };
  }
  throw new DayMergeContendedError(`day ${day}: ${MAX_DAY_MERGES} merges in a row were superseded by other merges`);
}

/** Swaps the day's merge record from the version seen before listing to one naming `outputs`; false when another merge swapped it first. */
async function commitMerge(sink: LakeSink, partition: DayPartition, outputs: readonly string[]): Promise<boolean> {
  if (!partition.merge || !sink.replaceIfUnchanged) return true;
  const key = dayMergeKey(partition.day);
  // The time makes every record new: an ETag (MD5 of the body) never comes back to one a merge saw.
  const record = { day: partition.day, outputs, read: partition.files.length, mergedAt: new Date().toISOString() };
  const body = Buffer.from(`${JSON.stringify(record)}\n`);
  const { version } = partition.merge;
  return version === undefined
    ? sink.putIfAbsent(key, body, 'json')
    : sink.replaceIfUnchanged(key, version, body, 'json');
}

/** The outputs the day's merge record names now: a superseded merge whose keys equal the winner's keeps them. */
async function mergeOutputsNamed(sink: LakeSink, day: string): Promise<Set<string>> {
  const body = await sink.get(dayMergeKey(day));
  if (!body) return new Set();
  const record = JSON.parse(Buffer.from(body).toString('utf8')) as { outputs?: unknown };
  return new Set(Array.isArray(record.outputs) ? record.outputs.filter((key) => typeof key === 'string') : []);
}

/** What a merge keeps of each table: one row per chat, plus the lines without a merge key. */
export interface ChosenVersions {
  chosen: { prefix: string; rows: Row[]; unkeyed: string[] }[];
  /** Chats (first table) kept. */
  chats: number;
  /** Of those, chats whose kept version is not among `fetched` (or came back as a stub). */
  kept: number;
  /** Chats of erased visitors left out. */
  erased: number;
}

/**
 * One version per chat across `tables` (the first decides): the newest fetch wins, a stub never
 * wins over an archived version, the other tables keep the version the first chose, and chats of
 * erased visitors are left out of every table. Day settling and compaction (compaction.ts) merge
 * with it, so both keep what the named queries' latest-copy logic keeps.
 */
export function chooseVersions(
  tables: readonly TableRows[],
  isErased: ((record: Record<string, unknown>) => boolean) | undefined,
  fetched: ReadonlySet<string>,
): ChosenVersions {
  const erasedIds = new Set<string>();
  if (isErased) {
    for (const { rows } of tables) {
      for (const row of rows) if (isErased(JSON.parse(row.line) as Record<string, unknown>)) erasedIds.add(row.id);
    }
  }

  const [primary, ...others] = tables;
  const winners = new Map<string, Row>();
  /** Chats a stub came back for: the archived version stays, and it counts as kept. */
  const stubbed = new Set<string>();
  for (const row of primary?.rows ?? []) {
    if (erasedIds.has(row.id)) continue;
    if (row.stub) stubbed.add(row.id);
    const best = winners.get(row.id);
    if (!best || isNewer(row, best)) winners.set(row.id, row);
  }
  const chosen = [
    { prefix: primary?.table.prefix ?? '', rows: [...winners.values()], unkeyed: primary?.unkeyed ?? [] },
  ];
  // A row of another table written with a stub (same chat, same version) is a stub too.
  const stubVersions = new Set(
    (primary?.rows ?? []).filter((row) => row.stub).map((row) => `${row.id}|${row.version}`),
  );
  for (const other of others) {
    const byId = new Map<string, Row>();
    for (const row of other.rows) {
      if (erasedIds.has(row.id)) continue;
      if (stubVersions.has(`${row.id}|${row.version}`)) row.stub = true;
      const best = byId.get(row.id);
      const wanted = winners.get(row.id)?.version;
      if (!best || (best.version !== wanted && (row.version === wanted || isNewer(row, best)))) byId.set(row.id, row);
    }
    chosen.push({ prefix: other.table.prefix, rows: [...byId.values()], unkeyed: other.unkeyed });
  }
  const kept = [...winners.values()].filter((row) => !fetched.has(row.id) || (stubbed.has(row.id) && !row.stub)).length;
  return { chosen, chats: winners.size, kept, erased: erasedIds.size };
}

function isNewer(row: Row, than: Row): boolean {
  if (row.stub !== than.stub) return than.stub;
  if (row.archivedAt !== than.archivedAt) return row.archivedAt > than.archivedAt;
  if (row.runId !== than.runId) return row.runId > than.runId;
  return row.page > than.page;
}

/** Every file is one earlier settling's output (one digest): nothing to merge unless rows were dropped. */
function alreadySettled(files: readonly string[]): boolean {
  const digests = new Set(files.map((key) => /\/settled-([0-9a-f]+)-part-\d+\.json\.gz$/.exec(key)?.[1]));
  return digests.size === 1 && !digests.has(undefined);
}
