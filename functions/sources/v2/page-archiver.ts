import { unknownFieldPaths } from '#lake/chat-columns.ts';
import { pageKey } from '#lake/lake-layout.ts';
import { type Mistyped, setAsideInRecords } from '#lake/mistyped-values.ts';
import { encodeNdjson, gzipNdjson } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { writtenFiles } from '#lake/written-files.ts';
import { KEEP_EVERYTHING, type WritePrivacy } from '#privacy/write-privacy.ts';
import type { PageTask } from '#shared/archive-task.ts';
import type { LivechatClient } from './livechat-client.ts';
import { type Chat, type ChatList, expectedChatsOnPage } from './livechat-schema.ts';
import { V2_SOURCE } from './v2-source-info.ts';

export type PageOutcome =
  | {
      status: 'written';
      key: string;
      chats: number;
      dropped: number;
      bytes: number;
      ids: string[];
      /** Chat fields that are not table columns (names only, sorted); written verbatim all the same. */
      unknownFields: string[];
      /** Values that do not fit their column's type, kept in `_mistyped` instead. */
      mistyped?: Mistyped;
    }
  | { status: 'drift'; reason: string };

export interface PageArchiverDeps {
  client: LivechatClient;
  sink: LakeSink;
  now?: () => Date;
  privacy?: WritePrivacy;
}

/**
 * Fetches one planned page and writes it as one gzip NDJSON file, unless the day
 * changed since it was planned. Offset pages are newest first, so a chat added to
 * the day shifts every later page: such a page would duplicate or skip chats, so it
 * is not written and the day must be re-archived.
 */
export async function archivePage(task: PageTask, deps: PageArchiverDeps): Promise<PageOutcome> {
  const fetchedAt = deps.now?.() ?? new Date();
  const list = await deps.client.listChats({
    dateFrom: task.day,
    dateTo: task.day,
    timeZone: task.timeZone,
    page: task.page,
    filters: task.filters,
  });
  return writePage(task, list, { ...deps, fetchedAt });
}

/**
 * Writes a fetched page, by its page task or by the day's planning request (page 1),
 * unless the day changed since it was planned. `_archived_at` is when the request was sent: the
 * newest fetch of a chat is the version a day keeps, however late a page was written.
 */
export async function writePage(
  task: PageTask,
  list: ChatList,
  deps: Pick<PageArchiverDeps, 'sink' | 'now' | 'privacy'> & { fetchedAt?: Date },
): Promise<PageOutcome> {
  const drift = driftBetween(task, list.total, list.chats);
  if (drift) return { status: 'drift', reason: drift };

  const archivedAt = (deps.fetchedAt ?? deps.now?.() ?? new Date()).toISOString();
  const privacy = deps.privacy ?? KEEP_EVERYTHING;
  const { kept, dropped } = privacy.keep(list.chats);
  // API fields stay verbatim (unless redacted, or set aside in `_mistyped` when they do not fit
  // their column's type); the archiver's own fields carry a `_` prefix.
  const { records, mistyped } = setAsideInRecords(kept.map(privacy.redact));
  const version = { _run_id: task.runId, _archived_at: archivedAt, _page: task.page };
  const { text, ends } = encodeNdjson(records, version);
  const body = await gzipNdjson(text);
  const key = pageKey(task.day, task.page, task);
  await deps.sink.put(key, body, 'ndjson-gzip');
  // Settling the day reads this file back: in this process, its lines need not be parsed again.
  writtenFiles.remember(
    deps.sink.location,
    key,
    body,
    CHATS_TABLE,
    text,
    ends,
    records,
    version,
    V2_SOURCE.attachments.refsOf,
  );
  return {
    status: 'written',
    key,
    chats: kept.length,
    dropped,
    bytes: body.byteLength,
    ids: list.chats.map((chat) => chat.id),
    unknownFields: unknownFieldsOf(list.chats),
    ...(mistyped ? { mistyped } : {}),
  };
}

const CHATS_TABLE = V2_SOURCE.mergedTables[0]!;

function driftBetween(task: PageTask, total: number, chats: readonly Chat[]): string | undefined {
  if (total !== task.total) return `total changed from ${task.total} to ${total}`;
  const expected = expectedChatsOnPage(task.page, task.total);
  if (chats.length !== expected) return `page ${task.page} has ${chats.length} chats, expected ${expected}`;
  if (new Set(chats.map((chat) => chat.id)).size !== chats.length) return `page ${task.page} repeats a chat id`;
  return undefined;
}

function unknownFieldsOf(chats: readonly Chat[]): string[] {
  const found = new Set<string>();
  for (const chat of chats) unknownFieldPaths(chat, found);
  return [...found].sort();
}
