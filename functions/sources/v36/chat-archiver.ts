import { mergeDay, settleDayPartition } from '#lake/day-consolidation.ts';
import { ARCHIVES_PREFIX, CHATS_PREFIX, partitionPrefix } from '#lake/lake-layout.ts';
import { toLakeRecord } from '#lake/lossless-record.ts';
import { setAsideInRecords } from '#lake/mistyped-values.ts';
import { encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { KEEP_EVERYTHING, type WritePrivacy } from '#privacy/write-privacy.ts';
import type { ChatTask } from '#shared/archive-task.ts';
import { LivechatResponseError } from '#shared/errors.ts';
import { localDay } from '#shared/time-zone.ts';
import type { ChatWritten } from '#sources/archive-source.ts';
import type { Archive } from './archive-schema.ts';
import { GET_CHAT_PATH } from './list-archives-client.ts';
import { chatOfRawRecord } from './slice-archiver.ts';
import { V36_SOURCE } from './v36-source-info.ts';

export interface ChatArchiverDeps {
  getChat(chatId: string, threadId: string): Promise<Archive>;
  sink: LakeSink;
  now?: () => Date;
  privacy?: WritePrivacy;
}

/**
 * A thread's file in one table of its day: `archives/dt=2026-11-24/webhook-K600PKZON8.json.gz`.
 * One key per thread, so a redelivered webhook overwrites its own file; the day's settling (the
 * nightly pass) merges it by thread id with what the pass fetched, newest fetch winning.
 */
export function webhookThreadKey(day: string, threadId: string, table: string): string {
  return `${partitionPrefix(day, table)}webhook-${threadId}.json.gz`;
}

/**
 * The chat task of a `chat_deactivated` webhook: reads the thread with `get_chat` (retried like every
 * request), writes it to `chat_threads` raw and to `chats` through the one v3.6 mapping
 * (slice-archiver.ts `chatOfRawRecord`), in the partition of the thread's start day in the lake's
 * zone, as a slice would. A thread past the plan's retention (`restricted_access`, no events) or of
 * an erased visitor is not written. If the day was settled already (the nightly pass came first),
 * its partition is merged again, so the thread is in the day once.
 */
export async function archiveChat(task: ChatTask, deps: ChatArchiverDeps): Promise<ChatWritten> {
  const fetchedAt = deps.now?.() ?? new Date();
  const archive = await deps.getChat(task.chatId, task.threadId);
  if (archive.thread.id !== task.threadId || archive.id !== task.chatId) {
    throw new LivechatResponseError(
      GET_CHAT_PATH,
      `asked for chat ${task.chatId} thread ${task.threadId}, got chat ${archive.id} thread ${archive.thread.id}`,
    );
  }
  const day = localDay(Date.parse(archive.thread.created_at), task.timeZone);
  const stub = V36_SOURCE.mergedTables[0]?.isStub?.(archive as Record<string, unknown>) ?? false;
  const privacy = deps.privacy ?? KEEP_EVERYTHING;
  const { kept, dropped } = privacy.keep([archive]);
  if (stub || kept.length === 0) return { kind: 'chat-written', day, chats: 0, dropped, bytes: 0, merged: false };

  const metadata = { _run_id: task.runId, _archived_at: fetchedAt.toISOString(), _page: 1 };
  const raw = kept.map((entry) => privacy.redact(toLakeRecord(entry, THREAD_SCHEMA)));
  const rawBody = await encodeNdjsonGzip(raw, metadata);
  // A mapped value that does not fit its `chats` column is set aside (the raw entry keeps it in `_extra`).
  const rows = setAsideInRecords(raw.map((record) => privacy.redact(chatOfRawRecord(record))));
  const body = await encodeNdjsonGzip(rows.records, metadata);
  // chat_threads first: the merge's first table decides, so a chats row never stands without its raw entry.
  await deps.sink.put(webhookThreadKey(day, task.threadId, ARCHIVES_PREFIX), rawBody, 'ndjson-gzip');
  await deps.sink.put(webhookThreadKey(day, task.threadId, CHATS_PREFIX), body, 'ndjson-gzip');
  const merged = await mergeIfSettled(day, deps.sink);
  const endedMs = Math.max(
    Date.parse(archive.thread.created_at),
    ...(archive.thread.events ?? []).map((event) => Date.parse(event.created_at)),
  );
  const endToLakeSeconds = Math.max(0, ((deps.now?.() ?? new Date()).getTime() - endedMs) / 1000);
  return {
    kind: 'chat-written',
    day,
    chats: 1,
    dropped,
    bytes: rawBody.byteLength + body.byteLength,
    endToLakeSeconds,
    merged,
    ...(rows.mistyped ? { mistyped: rows.mistyped } : {}),
  };
}

/** A pass that owns no file: merging for a webhook counts nothing as the pass's. */
const NO_PASS = { runId: 'webhook', attempt: 0, plan: 'none' };

/**
 * The nightly pass settled the day already (its partition holds settled files): merge it again now,
 * so the thread is in the day once without waiting for another pass. A day not settled yet is
 * merged by its pass.
 */
async function mergeIfSettled(day: string, sink: LakeSink): Promise<boolean> {
  const keys = await sink.list(partitionPrefix(day, ARCHIVES_PREFIX));
  if (!keys.some((key) => key.slice(key.lastIndexOf('/') + 1).startsWith('settled-'))) return false;
  // Another late delivery of the day (or a pass) may merge it at the same moment: mergeDay reads it again then.
  await mergeDay(sink, day, V36_SOURCE.mergedTables, NO_PASS, async (partition) => {
    const erased = await ErasedVisitors.load(sink);
    return settleDayPartition(sink, partition, (record) => erased.isErased(record), new Set());
  });
  return true;
}
