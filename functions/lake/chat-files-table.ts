/**
 * The `chat_files` table (`chat-files/dt=…/<chat>.<ref>.json`): one row per attachment reference
 * of an archived chat, what became of it and where its bytes are (`files/dt=…/`). Written by
 * functions/pipeline/archive-files.ts; the Glue table and the DuckDB view read these columns.
 */
import { type DayPlanColumn, manifestColumn } from './day-plan-table.ts';
import { CHAT_FILES_PREFIX } from './lake-layout.ts';

export const CHAT_FILES_TABLE = 'chat_files';
export { CHAT_FILES_PREFIX };

export const CHAT_FILE_COLUMNS: readonly DayPlanColumn[] = [
  manifestColumn('chat_id', 'string', 'LiveChat chat id (v2 chat id; v3.6 the chat that holds the thread)'),
  manifestColumn('thread_id', 'string', 'v3.6: the thread id (chats.id of a v3.6 lake); NULL for v2'),
  manifestColumn('event_id', 'string', "v3.6: the file event's id; NULL for v2 (attachment events have none)"),
  manifestColumn('name', 'string', 'File name: the v3.6 event name, else the last segment of the URL path'),
  manifestColumn('content_type', 'string', 'v3.6 event content_type, else the Content-Type the host answered'),
  manifestColumn('size', 'int', 'Bytes stored; for files not stored, the size documented or announced, if any'),
  manifestColumn('sha256', 'string', 'SHA-256 (hex) of the stored bytes; NULL when not stored'),
  manifestColumn(
    'status',
    'string',
    'stored, gone (404/410), too_large (above the cap, not stored), refused_host (host not allowlisted: never requested) or failed (after retries)',
  ),
  manifestColumn('detail', 'string', 'Why a file is not stored (HTTP status, cap, host), NULL when stored'),
  manifestColumn('lake_key', 'string', 'Key of the stored bytes in the lake (files/dt=…/…); NULL when not stored'),
  manifestColumn('url', 'string', 'The URL the chat points to (a capability URL: treat it as sensitive)'),
  manifestColumn('fetched_at', 'string', 'ISO-8601 UTC time the file was fetched (or refused)'),
  manifestColumn('run_id', 'string', 'Archive run that fetched it'),
];

export interface ChatFileRow {
  chat_id: string;
  thread_id: string | null;
  event_id: string | null;
  name: string;
  content_type: string | null;
  size: number | null;
  sha256: string | null;
  status: string;
  detail: string | null;
  lake_key: string | null;
  url: string;
  fetched_at: string;
  run_id: string;
}
