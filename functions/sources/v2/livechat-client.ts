import { type ChatFilters, filtersToSearchParams } from '#shared/chat-filters.ts';
import { rememberVerbatimElements } from '#shared/verbatim-json.ts';
import {
  type Accept,
  acceptedBy,
  createRetryingApi,
  type RetryingApiTuning,
  toLivechatError,
} from '#sources/retrying-api.ts';
import { type ChatList, chatListShapeSchema } from './livechat-schema.ts';

export type { RetryEvent, RetryReason } from '#sources/retrying-api.ts';

export const DEFAULT_API_URL = 'https://api.livechatinc.com';

/**
 * How a v2 request authenticates (V2PAGE, livechat-public-docs
 * src/pages/management/configuration-api/v2.0/index.mdx, "Authentication"): an OAuth 2.1 access
 * token (or any bearer token) as `Authorization: Bearer <token>`, or a Personal Access Token in
 * the Basic scheme as base64(`<agent login e-mail>:<PAT>`). LiveChat stopped issuing API keys
 * (removed from the docs in 2022); an old key is still sent like a PAT.
 */
export type V2Credentials =
  | { kind: 'bearer'; token: string }
  | { kind: 'pat'; login: string; pat: string }
  | { kind: 'api-key'; login: string; apiKey: string };

export interface LivechatClientOptions extends RetryingApiTuning {
  apiUrl?: string;
  credentials: V2Credentials;
  /** `X-Region` header, e.g. `fra` (the data centre of the account); omitted when unset (the API defaults to `dal`). */
  region?: string;
}

export function v2Authorization(credentials: V2Credentials): string {
  if (credentials.kind === 'bearer') return `Bearer ${credentials.token}`;
  const secret = credentials.kind === 'pat' ? credentials.pat : credentials.apiKey;
  return `Basic ${Buffer.from(`${credentials.login}:${secret}`).toString('base64')}`;
}

/** What a 401/403 says: which kind of credential was refused, and the scope `GET /chats` needs. */
export function v2AuthHint(credentials: V2Credentials): string {
  switch (credentials.kind) {
    case 'bearer':
      return 'the bearer token was refused: check that it is valid, not expired, and carries the scope archives_read';
    case 'pat':
      return 'the Personal Access Token (agent login e-mail + PAT) was refused: check both, and that the PAT has the scope archives_read';
    case 'api-key':
      return 'the legacy API key (login + API key) was refused: LiveChat no longer issues API keys; create a Personal Access Token with the scope archives_read and use it instead (LIVECHAT_PAT, or "pat" in the secret)';
  }
}

export interface ListChatsQuery {
  dateFrom: string;
  dateTo: string;
  /** IANA zone LiveChat cuts `date_from`/`date_to` in (`timezone`); without it, the account's own zone. */
  timeZone: string;
  page: number;
  filters?: ChatFilters;
}

export interface LivechatClient {
  listChats(query: ListChatsQuery): Promise<ChatList>;
}

/**
 * LiveChat REST API v2 client for `GET /chats`. ky does the retrying (see retrying-api.ts):
 * 429 (Retry-After honoured, capped), 5xx, network errors, timeouts, and 200 bodies that
 * are not the documented JSON. 400/401/403/404 fail at once with a typed error.
 */
export function createLivechatClient(options: LivechatClientOptions): LivechatClient {
  const headers: Record<string, string> = {
    Authorization: v2Authorization(options.credentials),
    'X-API-Version': '2',
    Accept: 'application/json',
  };
  if (options.region) headers['X-Region'] = options.region;
  const authHint = v2AuthHint(options.credentials);
  const api = createRetryingApi({ ...options, apiUrl: options.apiUrl ?? DEFAULT_API_URL, headers, methods: ['get'] });
  // Validated, then returned as the API sent it: every field verbatim, in its order, and each
  // chat's bytes remembered, so the page is written as sent (not serialized again).
  const acceptShape = acceptedBy<ChatList>(chatListShapeSchema, { verbatim: true });
  const acceptChatList: Accept<ChatList> = (value, body) => {
    const verdict = acceptShape(value, body);
    if (verdict.ok) rememberVerbatimElements(body, 'chats', verdict.value.chats);
    return verdict;
  };

  return {
    async listChats(query) {
      const searchParams = {
        date_from: query.dateFrom,
        date_to: query.dateTo,
        timezone: query.timeZone,
        page: String(query.page),
        ...filtersToSearchParams(query.filters ?? {}),
      };
      const path = `/chats?${new URLSearchParams(searchParams).toString()}`;
      try {
        return await api.json('chats', { method: 'get', searchParams }, acceptChatList);
      } catch (error) {
        throw toLivechatError(error, path, authHint);
      }
    },
  };
}
