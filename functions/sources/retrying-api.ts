import ky, { isForceRetryError, isHTTPError, isNetworkError, isTimeoutError, type KyInstance, type Options } from 'ky';
import {
  LivechatAuthError,
  LivechatMisdirectedError,
  LivechatRequestError,
  LivechatResponseError,
  LivechatUnavailableError,
  LivechatUnreachableError,
  LivechatWriteUnconfirmedError,
} from '#shared/errors.ts';
import { type ApiLifecycleNotice, reportLifecycle } from './api-lifecycle.ts';

/**
 * The ky setup both LiveChat clients share (REST API v2 `GET /chats` and Agent Chat Web
 * API v3.6 `list_archives`): retries on 429 (Retry-After honoured, capped), 5xx, network
 * errors, timeouts and 200 bodies that are not JSON (cut off, an HTML error page); after a
 * 429 every request of the client waits out the Retry-After; 400/401/403/404 fail at once
 * with a typed error that never carries credentials, and so does a 200 body that is JSON
 * but not the documented shape (LivechatResponseError, naming the JSON path): asking again
 * would get the same answer.
 * A write (a request of a method not in `methods`, e.g. register_webhook) is never sent again once
 * it may have reached LiveChat: only a connection that could not be made is retried.
 * `misdirected_request` fails at once too. Every response's `Legacy` or `Deprecation` header
 * (LiveChat's API lifecycle, `YYYY-MM-DD` when the stage ends) is handed to `onLifecycle`.
 */
export type RetryReason = 'rate-limited' | 'server-error' | 'network' | 'timeout' | 'malformed-body';

export interface RetryEvent {
  reason: RetryReason;
  status?: number;
  retryCount: number;
  path: string;
}

/** Tuning shared by both clients. */
export interface RetryingApiTuning {
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
  /** Called for every response that carries a `Legacy` or `Deprecation` header. */
  onLifecycle?: (notice: ApiLifecycleNotice) => void;
  /** For tests: a fetch implementation to use instead of the global one. */
  fetch?: typeof fetch;
}

export interface RetryingApiOptions extends RetryingApiTuning {
  apiUrl: string;
  headers: Record<string, string>;
  /**
   * HTTP methods whose requests only read, so ky may send them again (v3.6 actions are POSTs that
   * only read). A request of any other method is a write: it is sent again only when its connection
   * could not be made (refused, no such host, TLS: it never reached LiveChat); any other failure
   * (a timeout, a cut or malformed answer, a 5xx) fails at once as an unconfirmed write.
   */
  methods: string[];
  /** For writes: how the operator sees whether an unconfirmed write was carried out (LivechatWriteUnconfirmedError). */
  checkWrite?: string;
}

export interface RetryingApi {
  /**
   * Sends a request and returns its 200 body checked by `accept` (see `acceptedBy`). A body
   * that is not JSON is retried like a 5xx; one that `accept` refuses fails at once with
   * `BodyShapeError`. The body is read once, by the attempt that fetched it, and parsed once, in
   * the response hook, which hands the value back.
   */
  json<T>(input: string, request: Options, accept: Accept<T>): Promise<T>;
  /** A request whose documented answer has no payload ("No response payload (200 OK)"): any 2xx is done. */
  send(input: string, request: Options): Promise<void>;
}

/**
 * What `accept` says of a parsed body: its value, or one line naming the JSON path and what was
 * expected. `body` is the UTF-8 the value was parsed from (verbatim-json.ts keeps parts of it).
 */
export type Accept<T> = (value: unknown, body: Buffer) => { ok: true; value: T } | { ok: false; problem: string };

/** A 200 body that parsed as JSON but is not the documented shape; toLivechatError adds the request path. */
export class BodyShapeError extends Error {
  override name = 'BodyShapeError';
}

/** Raised inside the response hook so that ky retries an unusable 200 body (a write's fails at once). */
class MalformedBodyError extends Error {
  override name = 'MalformedBodyError';
}

/** A write that was sent and may have been carried out, but whose answer never came back whole; toLivechatError adds the path. */
class UnconfirmedWriteError extends Error {
  override name = 'UnconfirmedWriteError';
  constructor(
    readonly reason: string,
    readonly check: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/** What the response hook makes of a 2xx body: a value, a refusal (not the documented shape), or undefined when unusable. */
type BodyVerdict<T> = { ok: true; value: T } | { ok: false; problem: string } | undefined;

/** Retries of a connection that could not be made at all, before the request fails. */
export const QUICK_CONNECTION_RETRIES = 2;

export function createRetryingApi(options: RetryingApiOptions): RetryingApi {
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  const baseRetryDelayMs = options.baseRetryDelayMs ?? 300;
  let notBefore = 0;
  const waitForRateLimit = async () => {
    const wait = notBefore - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  const shared = {
    prefix: options.apiUrl.replace(/\/+$/, ''),
    headers: options.headers,
    timeout: options.timeoutMs ?? 30_000,
    totalTimeout: options.totalTimeoutMs ?? false,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    hooks: {
      beforeRequest: [waitForRateLimit],
      beforeRetry: [
        ({ request, error, retryCount }: { request: Request; error: Error; retryCount: number }) => {
          options.onRetry?.({ ...describeFailure(error), retryCount, path: pathOf(request.url) });
        },
        waitForRateLimit,
      ],
    },
  } satisfies Options;
  const api = ky.create({
    ...shared,
    retry: {
      limit: options.retryLimit ?? 8,
      methods: options.methods,
      statusCodes: [408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524],
      afterStatusCodes: [429, 503],
      maxRetryAfter: maxRetryDelayMs,
      backoffLimit: maxRetryDelayMs,
      delay: (attempt) => baseRetryDelayMs * 2 ** (attempt - 1),
      jitter: true,
      retryOnTimeout: true,
      // A wrong data centre stays wrong: whatever its status, fail at once. A connection that
      // cannot be made (refused, no such host, TLS) gets a few quick retries, not the full backoff.
      shouldRetry: ({ error, retryCount }) => {
        if (misdirectedRegion(error) !== undefined) return false;
        if (connectionFailure(error) !== undefined && retryCount > QUICK_CONNECTION_RETRIES) return false;
        return undefined;
      },
    },
  });
  // A write is sent again only when it provably never left: its connection could not be made.
  let writeApi: KyInstance | undefined;
  const writes = () =>
    (writeApi ??= ky.create({
      ...shared,
      retry: {
        limit: QUICK_CONNECTION_RETRIES,
        methods: ['get', 'post', 'put', 'patch', 'delete'],
        delay: (attempt) => baseRetryDelayMs * 2 ** (attempt - 1),
        jitter: true,
        shouldRetry: ({ error }) => connectionFailure(error) !== undefined,
      },
    }));
  const checkWrite = options.checkWrite ?? 'check with LiveChat whether it took effect before sending it again';

  /** Every response: its lifecycle headers, and a 429's Retry-After for every request of the client. */
  const observe = (request: Request, response: Response): void => {
    if (options.onLifecycle) reportLifecycle(response.headers, pathOf(request.url), options.onLifecycle);
    if (response.status === 429) {
      const wait = Math.min(retryAfterMs(response.headers.get('retry-after')) ?? baseRetryDelayMs, maxRetryDelayMs);
      notBefore = Math.max(notBefore, Date.now() + wait);
    }
  };

  /** One request through ky; `read` judges a 2xx body, read inside the attempt that fetched it. */
  const call = async <T>(input: string, request: Options, read: (body: Buffer) => BodyVerdict<T>): Promise<T> => {
    const write = !options.methods.includes(String(request.method ?? 'get').toLowerCase());
    let accepted: { value: T } | undefined;
    let refused: string | undefined;
    // The body of the latest 2xx answer, read inside the attempt (so under its timeout, and a
    // connection cut mid-body is a network error ky retries). ky then gets the answer without
    // its body: it clones every response for each afterResponse hook, and a clone of a body
    // tees its stream, which costs as much CPU as reading it.
    let body: Buffer | undefined;
    const readingFetch = async (...args: Parameters<typeof fetch>): Promise<Response> => {
      const answer = await (options.fetch ?? globalThis.fetch)(...args);
      if (!answer.ok) return answer;
      body = Buffer.from(await answer.arrayBuffer());
      return new Response(null, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
    };
    try {
      await (write ? writes() : api)(input, {
        ...request,
        fetch: readingFetch,
        hooks: {
          afterResponse: [
            ({ request: sent, response: attempt }) => {
              observe(sent, attempt);
              if (!attempt.ok) return;
              const bytes = body;
              body = undefined;
              const verdict = bytes === undefined ? undefined : read(bytes);
              if (!verdict) {
                // ky's forced retry skips its method check: a write's unusable answer must fail here.
                if (write) throw new MalformedBodyError('response body is not JSON');
                return ky.retry({ code: 'MALFORMED_BODY', cause: new MalformedBodyError('body is not JSON') });
              }
              if (verdict.ok) accepted = { value: verdict.value };
              else refused = verdict.problem;
            },
          ],
        },
      });
    } catch (error) {
      throw write ? unconfirmedUnlessRefused(error, checkWrite) : error;
    }
    if (refused !== undefined) {
      const problem = new BodyShapeError(refused);
      throw write
        ? new UnconfirmedWriteError(`answered 200, but not the documented shape: ${problem.message}`, checkWrite)
        : problem;
    }
    if (!accepted) throw new MalformedBodyError('response body was not checked');
    return accepted.value;
  };

  return {
    json<T>(input: string, request: Options, accept: Accept<T>): Promise<T> {
      return call(input, request, (bytes) => {
        const parsed = parseJson(bytes.toString('utf8'));
        return parsed && accept(parsed.value, bytes);
      });
    },
    async send(input: string, request: Options): Promise<void> {
      await call(input, request, () => ({ ok: true, value: undefined }));
    },
  };
}

/**
 * A write's failure after sending: LiveChat answered and refused it (4xx), or it never left (its
 * connection could not be made): the error as it is; anything else may have been carried out.
 */
function unconfirmedUnlessRefused(error: unknown, check: string): unknown {
  if (isHTTPError(error) && error.response.status < 500) return error;
  if (connectionFailure(error) !== undefined) return error;
  const reason = isHTTPError(error)
    ? `answered HTTP ${error.response.status}`
    : isTimeoutError(error)
      ? 'no answer within the timeout'
      : error instanceof MalformedBodyError
        ? 'answered 200, but the body is not JSON'
        : isNetworkError(error)
          ? 'the connection broke before the whole answer came'
          : error instanceof Error
            ? error.message
            : String(error);
  return new UnconfirmedWriteError(reason, check, { cause: error });
}

function parseJson(body: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(body) };
  } catch {
    return undefined;
  }
}

interface ShapeIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * A zod schema as an `accept` function for RetryingApi.json. With `verbatim`, the body is
 * returned as the API sent it (every field, in its order) once the schema accepts it.
 */
export function acceptedBy<T>(
  schema: {
    safeParse(
      value: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: readonly ShapeIssue[] } };
  },
  options: { verbatim?: boolean } = {},
): Accept<T> {
  return (value) => {
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, value: options.verbatim ? (value as T) : result.data };
    const issue = result.error.issues[0];
    return { ok: false, problem: issue ? `${jsonPath(issue.path)}: ${issue.message}` : 'unknown problem' };
  };
}

/** `$.chats[3].thread.id` from zod's issue path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return `$${path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')}`;
}

/** Retry-After as seconds or as an HTTP date, in milliseconds from now; undefined when absent or unusable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
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

/** Maps what ky threw after its retries to the typed LiveChat errors. */
export function toLivechatError(error: unknown, path: string, authHint?: string): Error {
  if (isHTTPError(error)) {
    const status = error.response.status;
    const region = misdirectedRegion(error);
    if (region !== undefined) return new LivechatMisdirectedError(status, path, region || undefined);
    if (status === 401 || status === 403) return new LivechatAuthError(status, authHint);
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return new LivechatRequestError(status, path, apiErrorDetail(error.data));
    }
    return new LivechatUnavailableError(path, `HTTP ${status}`);
  }
  if (error instanceof UnconfirmedWriteError) {
    return new LivechatWriteUnconfirmedError(path, error.reason, error.check, { cause: error.cause });
  }
  if (error instanceof BodyShapeError) return new LivechatResponseError(path, error.message);
  if (isTimeoutError(error)) return new LivechatUnavailableError(path, 'timed out');
  if (isForceRetryError(error)) return new LivechatUnavailableError(path, 'response body is not JSON');
  const unreachable = connectionFailure(error);
  if (unreachable && isNetworkError(error)) {
    return new LivechatUnreachableError(
      hostPortOf(error.request.url),
      `${unreachable} (${QUICK_CONNECTION_RETRIES + 1} attempts)`,
    );
  }
  if (isNetworkError(error)) return new LivechatUnavailableError(path, 'network error');
  return error instanceof Error ? error : new Error(String(error));
}

const CONNECTION_FAILURES: [RegExp, string][] = [
  [/^ECONNREFUSED$/, 'connection refused'],
  [/^(ENOTFOUND|EAI_AGAIN|EAI_NONAME)$/, 'no such host (DNS lookup failed)'],
  [/^(EHOSTUNREACH|ENETUNREACH)$/, 'host unreachable'],
  [/CERT|^ERR_TLS_|^ERR_SSL_|SELF_SIGNED|UNABLE_TO_VERIFY|^EPROTO$/, 'TLS handshake failed'],
];

/**
 * The cause of a request that never reached a server (refused, DNS, TLS), from the error codes
 * along its `cause` chain; undefined for anything else (a reset or a timeout is retried as before).
 */
export function connectionFailure(error: unknown): string | undefined {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    if (cause.message === 'bad port') return 'a port fetch refuses to connect to (bad port)';
    const code = (cause as NodeJS.ErrnoException).code;
    if (typeof code !== 'string') continue;
    const match = CONNECTION_FAILURES.find(([pattern]) => pattern.test(code));
    if (match) return match[1] === 'TLS handshake failed' ? `${match[1]} (${code})` : match[1];
  }
  return undefined;
}

/** `host:port` of a URL, with the scheme's default port spelled out. */
function hostPortOf(url: string): string {
  const { hostname, port, protocol } = new URL(url);
  return `${hostname}:${port || (protocol === 'https:' ? '443' : '80')}`;
}

/**
 * For an error body `{"error": {"type": "misdirected_request", "data": {"region": "fra"}}}`
 * (ACA36 "Errors"), the region to use, or '' when the body names none; undefined for any other error.
 */
function misdirectedRegion(error: unknown): string | undefined {
  if (!isHTTPError(error)) return undefined;
  const body = error.data as { error?: { type?: unknown; data?: { region?: unknown } } } | undefined;
  if (body?.error?.type !== 'misdirected_request') return undefined;
  const region = body.error.data?.region;
  return typeof region === 'string' && /^[a-z]{2,10}$/.test(region) ? region : '';
}

/** v2 answers `{"error": "text"}`, v3.x `{"error": {"type": "...", "message": "..."}}`. */
export function apiErrorDetail(data: unknown): string {
  if (!data || typeof data !== 'object' || !('error' in data)) return '';
  const error = (data as { error: unknown }).error;
  if (error && typeof error === 'object') {
    const { type, message } = error as { type?: unknown; message?: unknown };
    return [type, message]
      .filter((part) => typeof part === 'string')
      .join(': ')
      .slice(0, 200);
  }
  return String(error).slice(0, 200);
}
