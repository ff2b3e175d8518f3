import ky, { isForceRetryError, isHTTPError, isNetworkError, isTimeoutError, type KyInstance } from 'ky';
import { chatListSchema, type ChatList } from './livechat-schema.ts';
import { filtersToSearchParams, type ChatFilters } from './chat-filters.ts';
import {
  LivechatAuthError,
  LivechatRequestError,
  LivechatUnavailableError,
} from './errors.ts';

export const DEFAULT_API_URL = 'https://api.livechatinc.com';

export type RetryReason = 'rate-limited' | 'server-error' | 'network' | 'timeout' | 'malformed-body';

export interface RetryEvent {
  reason: RetryReason;
  status?: number;
  retryCount: number;
  path: string;
}

export interface LivechatClientOptions {
  apiUrl?: string;
  login: string;
  apiKey: string;
  /** Per attempt; a slower response is abandoned and retried. */
  timeoutMs?: number;
  /** For the whole request including retries and waits (e.g. to finish inside a Lambda timeout). */
  totalTimeoutMs?: number;
  /** Retries after the first attempt. */
  retryLimit?: number;
  /** Upper bound on any single wait, including the server's Retry-After. */
  maxRetryDelayMs?: number;
  /** First backoff step; doubles each retry, with full jitter. */
  baseRetryDelayMs?: number;
  onRetry?: (event: RetryEvent) => void;
  /** For tests: a fetch implementation to use instead of the global one. */
  fetch?: typeof fetch;
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

/** Raised inside the response hook so that ky retries an unusable 200 body. */
class MalformedBodyError extends Error {}

/**
 * LiveChat REST API v2 client for `GET /chats`. ky does the retrying: 429 (Retry-After
 * honoured, capped), 5xx, network errors, timeouts, and 200 bodies that are not the
 * documented JSON. 400/401/403/404 fail at once with a typed error.
 */
export function createLivechatClient(options: LivechatClientOptions): LivechatClient {
  const apiUrl = (options.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const baseRetryDelayMs = options.baseRetryDelayMs ?? 300;
  // After a 429, every request of this client waits out the Retry-After, not only the one refused.
  let notBefore = 0;
  const waitForRateLimit = async () => {
    const wait = notBefore - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  const authorization = `Basic ${Buffer.from(`${options.login}:${options.apiKey}`).toString('base64')}`;

  const api: KyInstance = ky.create({
    prefix: apiUrl,
    headers: { Authorization: authorization, 'X-API-Version': '2', Accept: 'application/json' },
    timeout: options.timeoutMs ?? 30_000,
    totalTimeout: options.totalTimeoutMs ?? false,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    retry: {
      limit: options.retryLimit ?? 8,
      methods: ['get'],
      statusCodes: [408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524],
      afterStatusCodes: [429, 503],
      maxRetryAfter: maxRetryDelayMs,
      backoffLimit: maxRetryDelayMs,
      delay: (attempt) => baseRetryDelayMs * 2 ** (attempt - 1),
      jitter: true,
      retryOnTimeout: true,
    },
    hooks: {
      beforeRequest: [waitForRateLimit],
      afterResponse: [
        async ({ response }) => {
          if (response.status === 429) {
            const seconds = Number(response.headers.get('retry-after'));
            const wait = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, maxRetryDelayMs) : baseRetryDelayMs;
            notBefore = Math.max(notBefore, Date.now() + wait);
          }
          if (!response.ok) return;
          const body = await response.text();
          if (!isChatList(body)) {
            return ky.retry({ code: 'MALFORMED_BODY', cause: new MalformedBodyError('body is not a chat list') });
          }
        },
      ],
      beforeRetry: [
        ({ request, error, retryCount }) => {
          options.onRetry?.({ ...describeFailure(error), retryCount, path: pathOf(request.url) });
        },
        waitForRateLimit,
      ],
    },
  });

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
        const text = await api.get('chats', { searchParams }).text();
        return chatListSchema.parse(JSON.parse(text));
      } catch (error) {
        throw toLivechatError(error, path);
      }
    },
  };
}

function isChatList(body: string): boolean {
  try {
    return chatListSchema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}

function pathOf(url: string): string {
  const { pathname, search } = new URL(url);
  return pathname + search;
}

function describeFailure(error: Error): Pick<RetryEvent, 'reason' | 'status'> {
  if (isHTTPError(error)) {
    const status = error.response.status;
    return { reason: status === 429 ? 'rate-limited' : 'server-error', status };
  }
  if (isTimeoutError(error)) return { reason: 'timeout' };
  if (isForceRetryError(error)) return { reason: 'malformed-body' };
  return { reason: 'network' };
}

function toLivechatError(error: unknown, path: string): Error {
  if (isHTTPError(error)) {
    const status = error.response.status;
    if (status === 401 || status === 403) return new LivechatAuthError(status);
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new LivechatRequestError(status, path, apiErrorDetail(error.data));
    }
    return new LivechatUnavailableError(path, `HTTP ${status}`);
  }
  if (isTimeoutError(error)) return new LivechatUnavailableError(path, 'timed out');
  if (isForceRetryError(error)) return new LivechatUnavailableError(path, 'response body is not the documented JSON');
  if (isNetworkError(error)) return new LivechatUnavailableError(path, 'network error');
  if (error instanceof SyntaxError) return new LivechatUnavailableError(path, 'response body is not JSON');
  return error instanceof Error ? error : new Error(String(error));
}

function apiErrorDetail(data: unknown): string {
  if (data && typeof data === 'object' && 'error' in data) {
    return String((data as { error: unknown }).error).slice(0, 200);
  }
  return '';
}
