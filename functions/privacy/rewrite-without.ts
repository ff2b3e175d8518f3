import type { DroppedChatsRow } from '#lake/dropped-chats-table.ts';
import { CHATS_PREFIX, compactedTablePrefix, droppedByEraseKey } from '#lake/lake-layout.ts';
import { dropNdjsonGzipRecords } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';

/** Tries of one file's read-rewrite-swap before giving up: each lost try means another writer changed it. */
const SWAP_TRIES = 20;

export type ConditionalSink = LakeSink & Required<Pick<LakeSink, 'getVersioned' | 'replaceIfUnchanged'>>;

export function canSwap(sink: LakeSink): sink is ConditionalSink {
  return typeof sink.getVersioned === 'function' && typeof sink.replaceIfUnchanged === 'function';
}

export interface Rewrite {
  /** Records dropped from the file (0: it held none, or it was gone). */
  dropped: number;
  /** Dropped records per `_run_id`, for dropped_chats. */
  byRun: Map<string, number>;
  /** A compacted month file: dropped records per day, then per `_run_id` (its key names no day). */
  byDay?: Map<string, Map<string, number>>;
}

/**
 * Rewrites one chat file without the records `drops` selects, or deletes it when none is left, as a
 * compare-and-swap on the version read (S3: If-Match on the ETag; folder: a locked stat and
 * rename): when another writer (an archive pass, a merge, another erase) changed the file in
 * between, the swap fails and the file is read again, so no one's change is undone. `beforeSwap`
 * runs before each swap with what would be dropped (an erase records the count first).
 */
export async function rewriteWithout(
  sink: ConditionalSink,
  key: string,
  drops: (record: Record<string, unknown>) => boolean,
  beforeSwap?: (rewrite: Rewrite) => Promise<void>,
): Promise<Rewrite> {
  for (let tries = 0; tries < SWAP_TRIES; tries += 1) {
    const current = await sink.getVersioned(key);
    const byRun = new Map<string, number>();
    if (!current) return { dropped: 0, byRun };
    const rewritten = await dropNdjsonGzipRecords(current.body, (record) => {
      const dropped = drops(record);
      if (dropped) byRun.set(String(record['_run_id']), (byRun.get(String(record['_run_id'])) ?? 0) + 1);
      return dropped;
    });
    if (rewritten.dropped === 0) return { dropped: 0, byRun };
    await beforeSwap?.({ dropped: rewritten.dropped, byRun });
    if (await sink.replaceIfUnchanged(key, current.version, rewritten.body, 'ndjson-gzip')) {
      return { dropped: rewritten.dropped, byRun };
    }
  }
  throw new Error(`lake file ${key} kept changing under concurrent writers (${SWAP_TRIES} tries)`);
}

/**
 * Counts (no identifier) of the chats an erasure removed from one `chats/` file, per run that wrote
 * them, so day_completeness does not count them as missing. Written before the file changes.
 */
export async function recordErasedFromFile(
  sink: LakeSink,
  key: string,
  byRun: ReadonlyMap<string, number>,
  erasure: string,
  now: () => Date,
  /** The day of the chats (a compacted month file's key names none). */
  dayOfChats?: string,
): Promise<void> {
  if (!key.startsWith(CHATS_PREFIX) && !key.startsWith(compactedTablePrefix(CHATS_PREFIX))) return;
  const day = dayOfChats ?? /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
  if (!day) return;
  for (const [runId, chats] of byRun) {
    const row: DroppedChatsRow = { runId, day, attempt: null, unit: key, chats, recordedAt: now().toISOString() };
    await sink.put(droppedByEraseKey(runId, day, erasure, key), Buffer.from(JSON.stringify(row)), 'json');
  }
}

/** The conversation a row stores: a chats row's `id` (v3.6: the thread id), a raw v3.6 entry's `thread.id`. */
export function conversationId(record: Record<string, unknown>): string | undefined {
  const thread = record['thread'];
  if (typeof thread === 'object' && thread !== null && typeof (thread as { id?: unknown }).id === 'string') {
    return (thread as { id: string }).id;
  }
  return typeof record['id'] === 'string' ? record['id'] : undefined;
}
