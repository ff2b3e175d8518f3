import { fromLakeRecord, toLakeRecord } from '#lake/lossless-record.ts';
import { addMistyped, type Mistyped, setAsideInRecords } from '#lake/mistyped-values.ts';
import { encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { ARCHIVES_PREFIX, THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { KEEP_EVERYTHING, type WritePrivacy } from '#privacy/write-privacy.ts';
import type { DayTask, SliceTask } from '#shared/archive-task.ts';
import { LivechatCursorExpiredError } from '#shared/errors.ts';
import { archiveToLakeChat } from './archive-mapping.ts';
import { type Archive, type ArchivesPage, MAX_ARCHIVES_LIMIT } from './archive-schema.ts';
import type { ArchivesClient } from './list-archives-client.ts';
import { type SliceId, sliceIds, slicePartKey, slicePartRecordKey, sliceRange } from './slice-layout.ts';
import { toArchiveFilters } from './v36-filters.ts';

/**
 * v3.6 fan-out by time slice. Cursor pages cannot be addressed by number, so a day task plans
 * slices, not pages: one slice for the whole local day of the task's zone, or one per local
 * hour when the first response's `found_chats` is above `busyDayThreshold`.
 *
 * A slice is read by a chain of tasks, each bounded by design: a task reads at most
 * `pagesPerTask` pages of the cursor, and no further page once its `deadline` (the worker's
 * Lambda timeout less a request's budget) has passed; it writes what it read, one part per
 * page under keys of its pass (slice-layout.ts), and hands the rest of the slice to the next
 * task (`cursor`: the next `page_id`, valid for weeks). A redelivered task reads from its own
 * cursor again and rewrites its own parts: no retry restarts the slice. Deleting nothing:
 * settling the day merges the partition by thread id.
 *
 * Drift, for cursor pages, is:
 * - a page's `found_chats` differing from the first page's of the read (chats were added to or
 *   removed from the slice while it was read), or
 * - a thread id seen twice in the read (the cursor moved over shifted data; checked over every
 *   part by the task that reads the last page, from the parts' records).
 * Drift is reported before the task writes its own pages, and the day is re-archived, as for v2
 * page drift (parts earlier tasks of the read wrote stay, as a drifted v2 pass's pages do; the
 * next pass's settling merges them, its own fetch winning). An expired cursor reads the slice
 * again from its first page, numbering parts on (up to `maxCursorRestarts`).
 */
export const DEFAULT_BUSY_DAY_THRESHOLD = 2_000;
/** Cursor pages one slice task reads at most (100 chats each) before it hands the rest on. */
export const DEFAULT_PAGES_PER_TASK = 5;

export interface V36Deps {
  client: ArchivesClient;
  sink: LakeSink;
  /** found_chats above which a day is sliced by hour. */
  busyDayThreshold?: number;
  /** Chats per list_archives page (1..100). */
  pageLimit?: number;
  maxCursorRestarts?: number;
  /** Cursor pages one task reads at most; the rest of the slice is handed to the next task. */
  pagesPerTask?: number;
  /** Epoch ms (on `now`'s clock) after which a task starts no further page request. */
  deadline?: number;
  now?: () => Date;
  privacy?: WritePrivacy;
}

export interface SlicePlan {
  day: string;
  attempt: number;
  found: number;
  sliceTasks: SliceTask[];
}

/** Learns found_chats for the day and plans its slices (the count decides the slicing, never what to delete). */
export async function planSlices(task: DayTask, plan: string, deps: V36Deps): Promise<SlicePlan> {
  const found = await countDay(task, deps);
  const slices = sliceIds(found > (deps.busyDayThreshold ?? DEFAULT_BUSY_DAY_THRESHOLD), task.day, task.timeZone);
  const sliceTasks = slices.map(
    (slice): SliceTask => ({
      v: task.v,
      kind: 'slice',
      runId: task.runId,
      day: task.day,
      attempt: task.attempt,
      plan,
      filters: task.filters,
      timeZone: task.timeZone,
      slice,
      slices: slices.length,
      found,
    }),
  );
  return { day: task.day, attempt: task.attempt, found, sliceTasks };
}

/**
 * found_chats of the whole day now. The local run compares it with the chats its slices wrote
 * once the last slice is done: a chat added to a slice that had already finished is drift too.
 */
export async function countDay(
  task: Pick<DayTask, 'day' | 'filters' | 'timeZone'>,
  deps: Pick<V36Deps, 'client'>,
): Promise<number> {
  const { from, to } = sliceRange(task.day, 'day', task.timeZone);
  const first = await deps.client.listArchives({
    filters: toArchiveFilters(task.filters, from, to),
    limit: 1,
    sortOrder: 'asc',
  });
  return first.found_chats;
}

/** What one task of a slice read and wrote itself. */
export interface SliceStep {
  /** Parts (pages with chats) this task wrote. */
  parts: number;
  chats: number;
  dropped: number;
  bytes: number;
  /** Times an expired cursor made this task read the slice again from its first page. */
  restarts: number;
  /** Values of the `chats` rows that do not fit their column's type, kept in `_mistyped`. */
  mistyped?: Mistyped;
}

export type SliceOutcome =
  | {
      status: 'written';
      /** The whole slice (every task of its read). */
      chats: number;
      dropped: number;
      parts: number;
      bytes: number;
      restarts: number;
      ids: string[];
      step: SliceStep;
    }
  | { status: 'continued'; next: SliceTask; step: SliceStep }
  | { status: 'drift'; reason: string };

/** What a part record holds (slicePartRecordKey). */
interface PartRecord {
  ids: string[];
  chats: number;
  dropped: number;
  bytes: number;
}

/** One task of a slice's read: at most `pagesPerTask` pages from the task's cursor (or the slice's start). */
export async function archiveSlice(task: SliceTask, deps: V36Deps): Promise<SliceOutcome> {
  const slice = task.slice as SliceId;
  const now = deps.now ?? (() => new Date());
  // This task's version of its threads is as old as its first request (the newest fetch of a thread wins at settling).
  const fetchedAt = now();
  const read = await readPages(task, slice, deps, now);
  if ('drift' in read) return { status: 'drift', reason: read.drift };
  const { pages, cursor, next } = read;

  const ids = pages.flat().map((archive) => archive.thread.id);
  if (new Set(ids).size !== ids.length) return { status: 'drift', reason: `slice ${slice}: a thread id came twice` };
  const earlier = next ? [] : await partRecords(task, slice, cursor.firstPart, cursor.part, deps.sink);
  if (!next) {
    const seen = new Set(earlier.flatMap((record) => record.ids));
    if (ids.some((id) => seen.has(id))) return { status: 'drift', reason: `slice ${slice}: a thread id came twice` };
  }

  const step = await writeParts(task, slice, pages, cursor.part, fetchedAt, deps);
  const stepCounts: SliceStep = { ...step, restarts: cursor.restarts - (task.cursor?.restarts ?? 0) };
  if (next) {
    const following: SliceTask = { ...task, cursor: { ...cursor, pageId: next, part: cursor.part + pages.length } };
    return { status: 'continued', next: following, step: stepCounts };
  }
  const all = [...earlier, ...step.records];
  const dropped = all.reduce((sum, record) => sum + record.dropped, 0);
  const allIds = all.flatMap((record) => record.ids);
  return {
    status: 'written',
    chats: allIds.length - dropped,
    dropped,
    parts: all.length,
    bytes: all.reduce((sum, record) => sum + record.bytes, 0),
    restarts: cursor.restarts,
    ids: allIds,
    step: stepCounts,
  };
}

/** Where this task's read starts (its cursor) and stands when it stops: the part its first page gets. */
interface ReadPosition {
  pageId?: string;
  part: number;
  firstPart: number;
  found?: number;
  restarts: number;
}

type PagesRead =
  | { pages: Archive[][]; cursor: Required<Omit<ReadPosition, 'pageId'>>; next?: string }
  | { drift: string };

/** Reads the task's pages: from its cursor, at most `pagesPerTask`, none started after the deadline. */
async function readPages(task: SliceTask, slice: SliceId, deps: V36Deps, now: () => Date): Promise<PagesRead> {
  const maxRestarts = deps.maxCursorRestarts ?? 3;
  const limit = deps.pagesPerTask ?? DEFAULT_PAGES_PER_TASK;
  const start = task.cursor ?? { part: 1, firstPart: 1, restarts: 0 };
  let position: ReadPosition = { ...start };
  const pages: Archive[][] = [];
  let requests = 0;
  for (;;) {
    let page: ArchivesPage;
    try {
      page = await requestPage(task, slice, position.pageId, deps);
    } catch (error) {
      if (!(error instanceof LivechatCursorExpiredError) || position.restarts >= maxRestarts) throw error;
      // Read the slice again from its first page; this task's pages so far are read again with it.
      position = { part: start.part, firstPart: start.part, restarts: position.restarts + 1 };
      pages.length = 0;
      continue;
    }
    requests += 1;
    if (position.found === undefined) position.found = page.found_chats;
    else if (page.found_chats !== position.found) {
      return { drift: `slice ${slice}: found_chats changed from ${position.found} to ${page.found_chats}` };
    }
    if (page.chats.length) pages.push(page.chats);
    position.pageId = page.next_page_id || undefined;
    if (!position.pageId) break;
    if (requests >= limit || (deps.deadline !== undefined && now().getTime() >= deps.deadline)) break;
  }
  const { part, firstPart, found, restarts } = position;
  return {
    pages,
    cursor: { part, firstPart, found: found ?? 0, restarts },
    ...(position.pageId ? { next: position.pageId } : {}),
  };
}

async function requestPage(
  task: SliceTask,
  slice: SliceId,
  pageId: string | undefined,
  deps: V36Deps,
): Promise<ArchivesPage> {
  if (pageId) return deps.client.listArchives({ pageId });
  const { from, to } = sliceRange(task.day, slice, task.timeZone);
  return deps.client.listArchives({
    filters: toArchiveFilters(task.filters, from, to),
    limit: deps.pageLimit ?? MAX_ARCHIVES_LIMIT,
    sortOrder: 'asc',
  });
}

/** Writes each page as a part in both tables, and its part record; numbered from `firstPart`. */
async function writeParts(
  task: SliceTask,
  slice: SliceId,
  pages: Archive[][],
  firstPart: number,
  fetchedAt: Date,
  deps: V36Deps,
): Promise<{
  parts: number;
  chats: number;
  dropped: number;
  bytes: number;
  records: PartRecord[];
  mistyped?: Mistyped;
}> {
  const archivedAt = fetchedAt.toISOString();
  const privacy = deps.privacy ?? KEEP_EVERYTHING;
  const records: PartRecord[] = [];
  let mistyped: Mistyped | undefined;
  for (const [index, page] of pages.entries()) {
    const part = firstPart + index;
    const metadata = { _run_id: task.runId, _archived_at: archivedAt, _page: part };
    // Erasure is decided on the whole archive (its customer's e-mail is not in the mapped row).
    const kept = privacy.keep(page);
    // Each entry twice, from one read: raw in `chat_threads`, and mapped from that stored raw record in `chats`.
    const raw = kept.kept.map((archive) => privacy.redact(toLakeRecord(archive, THREAD_SCHEMA)));
    const rawBody = await encodeNdjsonGzip(raw, metadata);
    await deps.sink.put(slicePartKey(task.day, task, slice, part, ARCHIVES_PREFIX), rawBody, 'ndjson-gzip');
    // A mapped value that does not fit its `chats` column is set aside (the raw entry keeps it in `_extra`).
    const rows = setAsideInRecords(raw.map((record) => privacy.redact(chatOfRawRecord(record))));
    mistyped = addMistyped(mistyped, rows.mistyped);
    const body = await encodeNdjsonGzip(rows.records, metadata);
    await deps.sink.put(slicePartKey(task.day, task, slice, part), body, 'ndjson-gzip');
    const record: PartRecord = {
      ids: page.map((archive) => archive.thread.id),
      chats: page.length - kept.dropped,
      dropped: kept.dropped,
      bytes: rawBody.byteLength + body.byteLength,
    };
    await deps.sink.put(slicePartRecordKey(task.day, task, slice, part), Buffer.from(JSON.stringify(record)), 'json');
    records.push(record);
  }
  const sum = (key: 'chats' | 'dropped' | 'bytes') => records.reduce((total, record) => total + record[key], 0);
  return {
    parts: records.length,
    chats: sum('chats'),
    dropped: sum('dropped'),
    bytes: sum('bytes'),
    records,
    ...(mistyped ? { mistyped } : {}),
  };
}

/** The part records of parts `from`..`to - 1` of the slice's read, written by the tasks before this one. */
async function partRecords(
  task: SliceTask,
  slice: SliceId,
  from: number,
  to: number,
  sink: LakeSink,
): Promise<PartRecord[]> {
  const records: PartRecord[] = [];
  for (let part = from; part < to; part++) {
    const body = await sink.get(slicePartRecordKey(task.day, task, slice, part));
    if (!body) throw new Error(`slice ${slice} of ${task.day}: the record of part ${part} is missing`);
    records.push(JSON.parse(Buffer.from(body).toString('utf8')) as PartRecord);
  }
  return records;
}

/** The `chats` row of a `chat_threads` record: the one mapping (archive-mapping.ts) over the raw entry. */
export function chatOfRawRecord(record: Record<string, unknown>): Record<string, unknown> {
  return archiveToLakeChat(fromLakeRecord(record, THREAD_SCHEMA) as Archive);
}
