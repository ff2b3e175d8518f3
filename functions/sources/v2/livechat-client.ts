import { type ChatFilters, filtersToSearchParams } from '#shared/chat-filters.ts';
import { acceptedBy, createRetryingApi, type RetryingApiTuning, toLivechatError } from '#sources/retrying-api.ts';
import { type ChatList, chatListSchema } from './livechat-schema.ts';

export type { RetryEvent, RetryReason } from '#sources/retrying-api.ts';

export const DEFAULT_API_URL = 'https://api.livechatinc.com';

export interface LivechatClientOptions extends RetryingApiTuning {
  apiUrl?: string;
  login: string;
  apiKey: string;
}

export interface ListChatsQuery {
  dateFrom: string;
  dateTo: string;
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
  const authorization = `Basic ${Buffer.from(`${options.login}:${options.apiKey}`).toString('base64')}`;
  const api = createRetryingApi({
    ...options,
    apiUrl: options.apiUrl ?? DEFAULT_API_URL,
    headers: { Authorization: authorization, 'X-API-Version': '2', Accept: 'application/json' },
    methods: ['get'],
  });
  // Validated, then returned as the API sent it: every field verbatim, in its order.
  const acceptChatList = acceptedBy<ChatList>(chatListSchema, { verbatim: true });

  return {
    async listChats(query) {
      const searchParams = {
        date_from: query.dateFrom,
        date_to: query.dateTo,
        page: String(query.page),
        ...filtersToSearchParams(query.filters ?? {}),
      };
      const path = `/chats?${new URLSearchParams(searchParams).toString()}`;
      try {
        return await api.json('chats', { method: 'get', searchParams }, acceptChatList);
      } catch (error) {
        throw toLivechatError(error, path);
      }
    },
  };
}
