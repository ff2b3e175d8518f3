import { fromLakeRecord, toLakeRecord } from '#lake/lossless-record.ts';
import { encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { ARCHIVES_PREFIX, THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { KEEP_EVERYTHING, type WritePrivacy } from '#privacy/write-privacy.ts';
import type { DayTask, SliceTask } from '#shared/archive-task.ts';
import { LivechatCursorExpiredError } from '#shared/errors.ts';
import { archiveToLakeChat } from './archive-mapping.ts';
import { type Archive, MAX_ARCHIVES_LIMIT } from './archive-schema.ts';
import type { ArchivesClient } from './list-archives-client.ts';
import { type SliceId, sliceIds, slicePartKey, sliceRange } from './slice-layout.ts';
import { toArchiveFilters } from './v36-filters.ts';

/**
 * v3.6 fan-out by time slice. Cursor pages cannot be addressed by number, so a day task plans
 * slices, not pages: one slice for the whole local day of the task's zone, or one per local
 * hour when the first response's `found_chats` is above `busyDayThreshold`. Each slice task follows the cursor to its end.
 *
 * A slice buffers its pages and writes nothing until its cursor reached the end without drift;
 * then it writes one part per page under keys of its pass (slice-layout.ts), deleting nothing:
 * settling the day merges the partition by thread id. Drift, for cursor pages, is:
 * - `found_chats` of the last page differs from the first page's (chats were added to or
 *   removed from the slice while it was read), or
 * - a thread id seen twice (the cursor moved over shifted data).
 * The slice is then not written and the day is re-archived, as for v2 page drift. An expired
 * cursor restarts the slice from its first page (up to `maxCursorRestarts`).
 */
export const DEFAULT_BUSY_DAY_THRESHOLD = 2_000;

export interface V36Deps {
  client: ArchivesClient;
  sink: LakeSink;
  /** found_chats above which a day is sliced by hour. */
  busyDayThreshold?: number;
  /** Chats per list_archives page (1..100). */
  pageLimit?: number;
  maxCursorRestarts?: number;
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

export type SliceOutcome =
  | {
      status: 'written';
      chats: number;
      dropped: number;
      parts: number;
      bytes: number;
      restarts: number;
      ids: string[];
    }
  | { status: 'drift'; reason: string };

export async function archiveSlice(task: SliceTask, deps: V36Deps): Promise<SliceOutcome> {
  const slice = task.slice as SliceId;
  const maxRestarts = deps.maxCursorRestarts ?? 3;
  let restarts = 0;
  // The slice's version of its threads is as old as its first request (the newest fetch of a thread wins at settling).
  const fetchedAt = deps.now?.() ?? new Date();
  let pages: Archive[][];
  let foundFirst: number;
  let foundLast: number;
  for (;;) {
    try {
      ({ pages, foundFirst, foundLast } = await readSlice(task, slice, deps));
      break;
    } catch (error) {
      if (!(error instanceof LivechatCursorExpiredError) || restarts >= maxRestarts) throw error;
      restarts += 1;
    }
  }

  if (foundFirst !== foundLast)
    return { status: 'drift', reason: `slice ${slice}: found_chats changed from ${foundFirst} to ${foundLast}` };
  const ids = pages.flat().map((archive) => archive.thread.id);
  if (new Set(ids).size !== ids.length) return { status: 'drift', reason: `slice ${slice}: a thread id came twice` };

  const archivedAt = fetchedAt.toISOString();
  const privacy = deps.privacy ?? KEEP_EVERYTHING;
  let bytes = 0;
  let dropped = 0;
  for (const [index, page] of pages.entries()) {
    const part = index + 1;
    const metadata = { _run_id: task.runId, _archived_at: archivedAt, _page: part };
    // Erasure is decided on the whole archive (its customer's e-mail is not in the mapped row).
    const kept = privacy.keep(page);
    dropped += kept.dropped;
    // Each entry twice, from one read: raw in `chat_threads`, and mapped from that stored raw record in `chats`.
    const raw = kept.kept.map((archive) => privacy.redact(toLakeRecord(archive, THREAD_SCHEMA)));
    const rawBody = await encodeNdjsonGzip(raw, metadata);
    await deps.sink.put(slicePartKey(task.day, task, slice, part, ARCHIVES_PREFIX), rawBody, 'ndjson-gzip');
    const body = await encodeNdjsonGzip(
      raw.map((record) => privacy.redact(chatOfRawRecord(record))),
      metadata,
    );
    await deps.sink.put(slicePartKey(task.day, task, slice, part), body, 'ndjson-gzip');
    bytes += rawBody.byteLength + body.byteLength;
  }
  return { status: 'written', chats: ids.length - dropped, dropped, parts: pages.length, bytes, restarts, ids };
}

/** The `chats` row of a `chat_threads` record: the one mapping (archive-mapping.ts) over the raw entry. */
export function chatOfRawRecord(record: Record<string, unknown>): Record<string, unknown> {
  return archiveToLakeChat(fromLakeRecord(record, THREAD_SCHEMA) as Archive);
}

async function readSlice(task: SliceTask, slice: SliceId, deps: V36Deps) {
  const { from, to } = sliceRange(task.day, slice, task.timeZone);
  let page = await deps.client.listArchives({
    filters: toArchiveFilters(task.filters, from, to),
    limit: deps.pageLimit ?? MAX_ARCHIVES_LIMIT,
    sortOrder: 'asc',
  });
  const foundFirst = page.found_chats;
  const pages: Archive[][] = [];
  if (page.chats.length) pages.push(page.chats);
  while (page.next_page_id) {
    page = await deps.client.listArchives({ pageId: page.next_page_id });
    if (page.chats.length) pages.push(page.chats);
  }
  return { pages, foundFirst, foundLast: page.found_chats };
}
