import PQueue from 'p-queue';
import type { ChatFileRow } from '#lake/chat-files-table.ts';
import type { DayPartition } from '#lake/day-consolidation.ts';
import {
  CHAT_FILES_PREFIX,
  chatFileRowKey,
  chatFileRowsPrefix,
  chatFilesFolder,
  compactedTablePrefix,
  fileKey,
  fileRefId,
  monthPartitionPrefix,
  partitionPrefix,
} from '#lake/lake-layout.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import type { DayRecord } from '#privacy/rewrite-parquet-without.ts';
import {
  type DayTask,
  type FilesTask,
  MAX_FILES_PER_TASK,
  type SettleTask,
  TASK_VERSION,
} from '#shared/archive-task.ts';
import {
  emptyFileCounts,
  type FetchedFile,
  type FileCounts,
  type FileFetcher,
  type FileRef,
  ownerOf,
} from '#shared/file-refs.ts';
import type { SourceInfo } from '#sources/archive-source.ts';

/** How a run archives attachments (absent: it does not). */
export interface FileArchiving {
  fetcher: FileFetcher;
  /** Files of one task fetched at once (default 4). */
  concurrency?: number;
  /** Files per queued task (default 10, at most MAX_FILES_PER_TASK). */
  filesPerTask?: number;
  /**
   * Reads the stored records of a compacted (Parquet) day or month file, with their days (the CLI:
   * DuckDB, readCompactedRecords), so a files task sees a compacted day's chats and stored file
   * rows. Absent in the worker Lambda, which ships no Parquet reader: there a file stored only in
   * compacted rows is fetched again, and files the task cannot judge are kept (FilesArchived.unverified).
   */
  readCompacted?: CompactedReader;
}

/** The records of one compacted file and their days (a month file's `dt`; undefined in a day file). */
export type CompactedReader = (key: string, body: Uint8Array) => Promise<DayRecord[]>;

export const DEFAULT_FILES_PER_TASK = 10;

/** What a files task did: its files by status (a file already stored counts as stored, not downloaded). */
export interface FilesArchived {
  kind: 'files-archived';
  day: string;
  batch: number;
  batches: number;
  counts: FileCounts;
  /** Files of chats erased while the task ran, removed again. */
  erased: number;
  /**
   * Objects (files and rows) of chats neither seen in the day's JSON nor judged, kept: the day has
   * compacted copies this runner cannot read (no Parquet reader), so they may be chats it still holds.
   */
  unverified?: number;
}

/**
 * The files a settled day's chats point to, once per chat and URL: every version of a chat in the
 * partition (chats of erased visitors left out), from the table the source reads attachments from.
 */
export function fileRefsOfDay(
  source: SourceInfo,
  partition: DayPartition,
  /** Undefined when no visitor was ever erased. */
  isErased: ((record: Record<string, unknown>) => boolean) | undefined,
): FileRef[] {
  const table = partition.tables.find(({ table }) => table.prefix === source.attachments.prefix);
  const refs = new Map<string, FileRef>();
  for (const row of table?.rows ?? []) {
    // Found when the row was written in this process (and no erasure needs the record), else parsed again.
    let found = !isErased ? row.refs : undefined;
    if (!found) {
      // A row without an attachment or file event cannot point to a file: not parsed again.
      if (!row.line.includes('"attachment"') && !row.line.includes('"file"')) continue;
      const record = JSON.parse(row.line) as Record<string, unknown>;
      if (isErased?.(record)) continue;
      found = source.attachments.refsOf(record);
    }
    for (const ref of found) {
      const key = `${ownerOf(ref)}\n${ref.url}`;
      if (!refs.has(key)) refs.set(key, ref);
    }
  }
  return [...refs.values()].sort((a, b) => ownerOf(a).localeCompare(ownerOf(b)) || a.url.localeCompare(b.url));
}

/** One files task per batch of refs, for the pass that settled the day. */
export function filesTasksOf(
  task: DayTask | SettleTask,
  plan: string,
  refs: readonly FileRef[],
  erasures: number,
  filesPerTask = DEFAULT_FILES_PER_TASK,
): FilesTask[] {
  const size = Math.max(1, Math.min(MAX_FILES_PER_TASK, filesPerTask));
  const batches = Math.ceil(refs.length / size);
  const { runId, day, attempt, filters, timeZone } = task;
  return Array.from({ length: batches }, (_, index) => ({
    v: TASK_VERSION,
    kind: 'files' as const,
    runId,
    day,
    attempt,
    filters,
    timeZone,
    plan,
    batch: index + 1,
    batches,
    erasures,
    files: refs.slice(index * size, (index + 1) * size),
  }));
}

/**
 * Archives one batch of files, on both runners: a file whose `chat_files` row says it is stored
 * (same chat, same URL) is not fetched again, whether the row is an object of its own or a row of
 * the day's compacted files (a re-archive of a compacted day; needs readCompacted); otherwise the
 * fetcher's answer is recorded, the bytes first (deterministic key, whole or nothing) and the row
 * after, so a row never points to bytes that are not there. A missing, refused or oversized file
 * is a row, never a failure.
 */
export async function archiveFiles(
  task: FilesTask,
  deps: { sink: LakeSink; now: () => Date; files: FileArchiving; source: SourceInfo },
): Promise<FilesArchived> {
  const counts = emptyFileCounts();
  const queue = new PQueue({ concurrency: deps.files.concurrency ?? 4 });
  const compacted = storedInCompactedRows(task.day, deps);
  await Promise.all(
    task.files.map((ref) =>
      queue.add(async () => {
        const row = await archiveFile(task, ref, deps, compacted);
        counts[row.status as keyof typeof counts] += 1;
        if (row.status === 'stored') counts.bytes += row.size ?? 0;
        if (row.fetched) counts.downloaded += 1;
      }),
    ),
  );
  const { removed, unverified } = await removeFilesOfErasedChats(task, deps);
  return {
    kind: 'files-archived',
    day: task.day,
    batch: task.batch,
    batches: task.batches,
    counts,
    erased: removed,
    ...(unverified > 0 ? { unverified } : {}),
  };
}

async function archiveFile(
  task: FilesTask,
  ref: FileRef,
  deps: { sink: LakeSink; now: () => Date; files: FileArchiving },
  compacted: (owner: string, url: string) => Promise<ChatFileRow | undefined>,
): Promise<ChatFileRow & { fetched: boolean }> {
  const owner = ownerOf(ref);
  const refId = fileRefId(owner, ref.url);
  const rowKey = chatFileRowKey(task.day, owner, refId);
  const existing = await deps.sink.get(rowKey);
  if (existing) {
    const row = JSON.parse(Buffer.from(existing).toString('utf8')) as ChatFileRow;
    if (row.status === 'stored' && row.lake_key) return { ...row, fetched: false };
  }
  const storedBefore = await compacted(owner, ref.url);
  if (storedBefore) return { ...storedBefore, fetched: false };
  const fetchedAt = deps.now().toISOString();
  const fetched = await deps.files.fetcher.fetch(ref.url);
  const name = ref.name ?? nameOfUrl(ref.url);
  const row = rowOf(task, ref, name, fetched, fetchedAt);
  if (fetched.status === 'stored') {
    row.lake_key = fileKey(task.day, owner, refId, name);
    await deps.sink.put(row.lake_key, fetched.body, 'binary');
  }
  await deps.sink.put(rowKey, Buffer.from(`${JSON.stringify(row)}\n`), 'json');
  return { ...row, fetched: fetched.status === 'stored' };
}

/**
 * The `stored` row of a file (chat and URL) in the day's compacted `chat_files` rows whose bytes
 * are still in the lake, or undefined. Compaction deletes a day's row objects, so without this a
 * re-archive of a compacted day fetches its files again, and counts a host's later 404 as `gone`
 * for a file the lake holds. Read once per task, and only when some file has no stored row object.
 */
function storedInCompactedRows(
  day: string,
  deps: { sink: LakeSink; files: FileArchiving },
): (owner: string, url: string) => Promise<ChatFileRow | undefined> {
  let rows: Promise<Map<string, ChatFileRow>> | undefined;
  const load = async () => {
    const stored = new Map<string, ChatFileRow>();
    const read = deps.files.readCompacted;
    // A compaction replacing a file meanwhile (read as gone): read again; what is still missed is fetched again.
    let records: Record<string, unknown>[] | undefined;
    for (let tries = 0; read && !records && tries < DAY_READ_TRIES; tries += 1) {
      records = await compactedRecordsOfDay(deps.sink, day, CHAT_FILES_PREFIX, read);
    }
    for (const record of records ?? []) {
      const row = record as unknown as ChatFileRow;
      if (row.status === 'stored' && row.lake_key) stored.set(`${row.thread_id ?? row.chat_id}\n${row.url}`, row);
    }
    return stored;
  };
  const filesOf = new Map<string, Promise<string[]>>();
  return async (owner, url) => {
    rows ??= load();
    const row = (await rows).get(`${owner}\n${url}`);
    if (!row?.lake_key) return undefined;
    // Its bytes must still be there (an erase or a prune may have removed them since): else fetched again.
    if (!filesOf.has(owner)) filesOf.set(owner, deps.sink.list(chatFilesFolder(day, owner)));
    return (await filesOf.get(owner)!).includes(row.lake_key) ? row : undefined;
  };
}

/** A table's compacted files that may hold `day`'s rows: the day's own files and its month's. */
async function compactedKeysOfDay(sink: LakeSink, day: string, table: string): Promise<string[]> {
  const compacted = compactedTablePrefix(table);
  const prefixes = [partitionPrefix(day, compacted), monthPartitionPrefix(day.slice(0, 7), compacted)];
  return (await Promise.all(prefixes.map((prefix) => sink.list(prefix)))).flat().filter((k) => k.endsWith('.parquet'));
}

/**
 * `day`'s records in `table`'s compacted files (a month file's rows of other days left out), or
 * undefined when a file listed was gone when read (a compaction replaced it meanwhile).
 */
async function compactedRecordsOfDay(
  sink: LakeSink,
  day: string,
  table: string,
  read: CompactedReader,
  keys?: readonly string[],
): Promise<Record<string, unknown>[] | undefined> {
  const records: Record<string, unknown>[] = [];
  for (const key of keys ?? (await compactedKeysOfDay(sink, day, table))) {
    const body = await sink.get(key);
    if (!body) return undefined;
    for (const row of await read(key, body)) if (row.day === undefined || row.day === day) records.push(row.record);
  }
  return records;
}

function rowOf(task: FilesTask, ref: FileRef, name: string, fetched: FetchedFile, fetchedAt: string): ChatFileRow {
  const stored = fetched.status === 'stored';
  return {
    chat_id: ref.chatId,
    thread_id: ref.threadId ?? null,
    event_id: ref.eventId ?? null,
    name,
    content_type: ref.contentType ?? (stored ? (fetched.contentType ?? null) : null),
    size: stored ? fetched.body.length : (fetched.size ?? ref.size ?? null),
    sha256: stored ? fetched.sha256 : null,
    status: fetched.status,
    detail: stored ? null : fetched.detail,
    lake_key: null,
    url: ref.url,
    fetched_at: fetchedAt,
    run_id: task.runId,
  };
}

/** The last path segment of a URL, decoded (`screenshot.png`), or `file`. */
export function nameOfUrl(url: string): string {
  try {
    const segment = new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '';
    return decodeURIComponent(segment) || 'file';
  } catch {
    return 'file';
  }
}

/**
 * A visitor erased after the day settled (its refs were listed) and before this task wrote: the
 * erase may have looked for their files before they were here. So when the lake holds more
 * erasure records than the settling knew, the task keeps only the files of chats the day still
 * holds (and not of erased visitors), and deletes the rest it wrote. Rare: no erase, no read.
 * "The day holds" means any copy of it: its JSON files and its compacted day or month files (the
 * day may have been compacted since it settled). Where those cannot be read (the worker Lambda
 * has no Parquet reader), files of chats not seen in the JSON are kept, never judged
 * (`unverified`), unless the JSON shows them as an erased visitor's.
 */
async function removeFilesOfErasedChats(
  task: FilesTask,
  deps: { sink: LakeSink; source: SourceInfo; files: FileArchiving },
): Promise<{ removed: number; unverified: number }> {
  const erased = await ErasedVisitors.load(deps.sink);
  if (erased.size <= task.erasures) return { removed: 0, unverified: 0 };
  const day = await chatsOfDay(task.day, erased, deps);
  let removed = 0;
  let unverified = 0;
  for (const owner of new Set(task.files.map(ownerOf))) {
    if (day.present.has(owner)) continue;
    const keys = [
      ...(await deps.sink.list(chatFilesFolder(task.day, owner))),
      ...(await deps.sink.list(chatFileRowsPrefix(task.day, owner))),
    ];
    // Not every copy read: only a chat seen as an erased visitor's (the erase not done with it yet) is judged.
    if (!day.complete && !day.erased.has(owner)) {
      unverified += keys.length;
      continue;
    }
    if (keys.length) await deps.sink.delete(keys);
    removed += keys.length;
  }
  return { removed, unverified };
}

/** Reads of a day's copies before giving up: each lost read means a settle or compaction replaced a file. */
const DAY_READ_TRIES = 5;

/**
 * The chats (owners of file refs) in every copy of the day, and apart those of erased visitors
 * (an erase still under way: their records not removed yet): its JSON files, then its compacted files (listed after: a compaction writes before it deletes, so a chat
 * moved out of a JSON file read as gone is in a compacted file listed later). A file gone between
 * its listing and its read means the copies changed meanwhile: read again. `complete` is false
 * when some copy could not be read.
 */
async function chatsOfDay(
  day: string,
  erased: ErasedVisitors,
  deps: { sink: LakeSink; source: SourceInfo; files: FileArchiving },
): Promise<{ present: Set<string>; erased: Set<string>; complete: boolean }> {
  const { prefix, refsOf } = deps.source.attachments;
  for (let tries = 0; tries < DAY_READ_TRIES; tries += 1) {
    const present = new Set<string>();
    const ofErased = new Set<string>();
    const see = (record: Record<string, unknown>) => {
      const into = erased.isErased(record) ? ofErased : present;
      for (const ref of refsOf(record)) into.add(ownerOf(ref));
    };
    let changed = false;
    for (const key of await deps.sink.list(partitionPrefix(day, prefix))) {
      if (!key.endsWith('.json.gz')) continue;
      const body = await deps.sink.get(key);
      if (!body) changed = true;
      for (const record of body ? await decodeNdjsonGzip(body) : []) see(record);
    }
    const keys = await compactedKeysOfDay(deps.sink, day, prefix);
    const read = deps.files.readCompacted;
    if (keys.length > 0 && !read) return { present, erased: ofErased, complete: false };
    const records = read && keys.length > 0 ? await compactedRecordsOfDay(deps.sink, day, prefix, read, keys) : [];
    if (!records) changed = true;
    for (const record of records ?? []) see(record);
    if (!changed) return { present, erased: ofErased, complete: true };
  }
  return { present: new Set(), erased: new Set(), complete: false };
}
