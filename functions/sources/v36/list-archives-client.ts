/**
 * LiveChat Agent Chat Web API v3.6 `list_archives` client.
 *
 * What this relies on (livechat/livechat-public-docs, src/pages/messaging/agent-chat-api/v3.6/
 * index.mdx "Methods", "Pagination", "Data centers", "List Archives"; data-structures/index.mdx
 * "Threads", "Users", "Events"; platform.text.com/docs/authorization/agent-authorization
 * "Personal Access Tokens"; the v3.6 changelog):
 * - `POST https://api.livechatinc.com/v3.6/agent/action/list_archives`, `Content-Type:
 *   application/json`, JSON body. The version is in the URL, so no X-API-Version header.
 * - Auth: `Authorization: Bearer <token>`, or a Personal Access Token in the Basic scheme as
 *   base64(`account_id:token`). Optional `X-Region: dal|fra` (the token's data-centre prefix).
 * - Request: `filters` (`from`/`to` RFC 3339 with microseconds, `query`, `group_ids`,
 *   `agents`, `goals`, ...), `sort_order` `asc`|`desc` (default desc), `limit` 1..100 (default
 *   10), `page_id`. `filters`, `limit` and `sort_order` can't be sent together with `page_id`:
 *   next pages send only `{"page_id": next_page_id}`. A `page_id` expires (at most a month).
 * - Response: `chats` (chat + ONE thread each; a chat appears once per thread), `found_chats`
 *   ("an estimated number"), optional `next_page_id` / `previous_page_id`.
 * - Errors are `{"error": {"type": "...", "message": "..."}}`; rate limits answer 429.
 * Not documented, so assumed: an expired `page_id` answers 400 whose error mentions `page_id`
 * (detected by `isExpiredCursor`), and 429 may carry Retry-After as v2 does.
 *
 * Retries, Retry-After, the 429 gate and typed errors are the v2 client's (retrying-api.ts).
 */
import { isHTTPError } from 'ky';
import { LivechatCursorExpiredError } from '#shared/errors.ts';
import {
  acceptedBy,
  apiErrorDetail,
  createRetryingApi,
  type RetryingApiTuning,
  toLivechatError,
} from '#sources/retrying-api.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';
import {
  type Archive,
  type ArchivesPage,
  archiveSchema,
  archivesPageSchema,
  MAX_ARCHIVES_LIMIT,
} from './archive-schema.ts';

export const LIST_ARCHIVES_PATH = '/v3.6/agent/action/list_archives';
/**
 * `get_chat` (same page, "Get Chat"): body `{chat_id, thread_id?}` (default: the latest thread),
 * scope `chats--all:ro` or `chats--access:ro`; answers `{id, thread, users, properties, access,
 * is_followed}`, a chat with ONE thread: the shape of a list_archives entry, checked by the same schema.
 */
export const GET_CHAT_PATH = '/v3.6/agent/action/get_chat';

export type V36Credentials = { kind: 'pat'; accountId: string; token: string } | { kind: 'bearer'; token: string };

export interface ArchivesClientOptions extends RetryingApiTuning {
  apiUrl?: string;
  credentials: V36Credentials;
  /** `X-Region` header, e.g. `fra`; omitted when unset (the API defaults to `dal`). */
  region?: string;
}

/** The documented filters the archiver sends (a subset of list_archives' filters). */
export interface ArchiveFilters {
  from: string;
  to: string;
  query?: string;
  group_ids?: number[];
  agents?: { values: string[] };
  goals?: { values: number[] } | { exists: boolean };
}

export type ListArchivesRequest =
  | { filters: ArchiveFilters; limit: number; sortOrder: 'asc' | 'desc' }
  | { pageId: string };

export interface ArchivesClient {
  listArchives(request: ListArchivesRequest): Promise<ArchivesPage>;
  /** One thread of one chat (`get_chat`); clients built for list_archives only may leave it out. */
  getChat?(chatId: string, threadId: string): Promise<Archive>;
}

// Checked, then kept as the API sent it: the raw lake stores every entry verbatim.
const acceptArchivesPage = acceptedBy<ArchivesPage>(archivesPageSchema, { verbatim: true });
const acceptChat = acceptedBy<Archive>(archiveSchema, { verbatim: true });

export const V36_AUTH_HINT = 'check LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT, or LIVECHAT_BEARER_TOKEN';

export function authorizationHeader(credentials: V36Credentials): string {
  return credentials.kind === 'bearer'
    ? `Bearer ${credentials.token}`
    : `Basic ${Buffer.from(`${credentials.accountId}:${credentials.token}`).toString('base64')}`;
}

export function createArchivesClient(options: ArchivesClientOptions): ArchivesClient {
  const headers: Record<string, string> = {
    Authorization: authorizationHeader(options.credentials),
    'Content-Type': 'application/json',
    Accept: 'application/json',
  };
  if (options.region) headers['X-Region'] = options.region;
  const api = createRetryingApi({
    ...options,
    apiUrl: options.apiUrl ?? DEFAULT_API_URL,
    headers,
    // list_archives and get_chat only read, so retrying their POST is safe.
    methods: ['post'],
  });

  return {
    async listArchives(request) {
      const json =
        'pageId' in request
          ? { page_id: request.pageId }
          : {
              filters: request.filters,
              limit: Math.min(request.limit, MAX_ARCHIVES_LIMIT),
              sort_order: request.sortOrder,
            };
      try {
        return await api.json(LIST_ARCHIVES_PATH.slice(1), { method: 'post', json }, acceptArchivesPage);
      } catch (error) {
        if ('pageId' in request && isExpiredCursor(error)) throw new LivechatCursorExpiredError(LIST_ARCHIVES_PATH);
        throw toLivechatError(error, LIST_ARCHIVES_PATH, V36_AUTH_HINT);
      }
    },
    async getChat(chatId, threadId) {
      try {
        const json = { chat_id: chatId, thread_id: threadId };
        return await api.json(GET_CHAT_PATH.slice(1), { method: 'post', json }, acceptChat);
      } catch (error) {
        throw toLivechatError(error, GET_CHAT_PATH, V36_AUTH_HINT);
      }
    },
  };
}

function isExpiredCursor(error: unknown): boolean {
  if (!isHTTPError(error) || error.response.status !== 400) return false;
  return /page_id/i.test(apiErrorDetail(error.data));
}
