import { createHash } from 'node:crypto';
import ky, { HTTPError, type KyInstance, TimeoutError } from 'ky';
import type { FetchedFile, FileFetcher } from '#shared/file-refs.ts';
import { BodyBytes } from './body-bytes.ts';

/**
 * LiveChat's CDN hosts for attachments: `cdn.livechat-files.com` (Agent Chat API v3.6, "Upload
 * File": a file sent in a chat "has to point to the LiveChat CDN") and `static.livechatinc.com`
 * (the REST API v2 chat example's `files`).
 */
export const LIVECHAT_FILE_HOSTS: readonly string[] = ['cdn.livechat-files.com', 'static.livechatinc.com'];

export const DEFAULT_MAX_ATTACHMENT_MB = 25;

export interface SafeFileFetcherOptions {
  /** Hosts files may be fetched from: exact names (`cdn.livechat-files.com`) or `*.example.com`. */
  hosts: readonly string[];
  /** A file above this is `too_large`: not stored, and not downloaded past it. */
  maxBytes: number;
  /** Per request until the response starts (default 20 s). */
  timeoutMs?: number;
  /** Whole fetch of one file, redirects, retries and body included (default 120 s). */
  totalTimeoutMs?: number;
  /** Retries of a 408/429/5xx answer or a network error (default 2). */
  retries?: number;
  baseRetryDelayMs?: number;
  fetch?: typeof globalThis.fetch;
  /** Where a body without a Content-Length is gathered until it ends (default the OS temp folder). */
  spillDir?: string;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const RETRIED = new Set([408, 429, 500, 502, 503, 504]);

/**
 * Fetches attachment URLs without letting chat content steer the archiver: only http(s) URLs on
 * an allowlisted host are requested (anything else is `refused_host`, no request made), redirects
 * are followed by hand and only within the allowlist, no credential is ever sent (the request
 * carries no Authorization header, cookie or token: file URLs are capability URLs), and the body
 * is streamed, stopping at `maxBytes`, into one buffer of its exact length (body-bytes.ts: never
 * held twice, even without a Content-Length).
 */
export function safeFileFetcher(options: SafeFileFetcherOptions): FileFetcher {
  const allowed = hostMatcher(options.hosts);
  const baseDelay = options.baseRetryDelayMs ?? 500;
  const api: KyInstance = ky.create({
    ...(options.fetch ? { fetch: options.fetch } : {}),
    redirect: 'manual',
    timeout: options.timeoutMs ?? 20_000,
    headers: { accept: '*/*', 'user-agent': 'livechat-archiver (attachments)' },
    throwHttpErrors: (status) => RETRIED.has(status),
    retry: {
      limit: options.retries ?? 2,
      methods: ['get'],
      statusCodes: [...RETRIED],
      afterStatusCodes: [429, 503],
      maxRetryAfter: 30_000,
      backoffLimit: 10_000,
      delay: (attempt) => baseDelay * 2 ** (attempt - 1),
    },
  });

  return {
    async fetch(url) {
      const deadline = AbortSignal.timeout(options.totalTimeoutMs ?? 120_000);
      let current = url;
      for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
        const refusal = refusalOf(current, allowed);
        if (refusal) return { status: 'refused_host', detail: hop > 0 ? `redirected to ${refusal}` : refusal };
        let response: Response;
        try {
          response = await api.get(current, { signal: deadline });
        } catch (error) {
          return failure(error);
        }
        if (REDIRECTS.has(response.status)) {
          await response.body?.cancel();
          const location = response.headers.get('location');
          if (!location) return { status: 'failed', httpStatus: response.status, detail: 'redirect without Location' };
          current = new URL(location, current).href;
          continue;
        }
        if (response.status === 404 || response.status === 410) {
          await response.body?.cancel();
          return { status: 'gone', httpStatus: response.status, detail: `HTTP ${response.status}` };
        }
        if (response.status < 200 || response.status > 299) {
          await response.body?.cancel();
          return { status: 'failed', httpStatus: response.status, detail: `HTTP ${response.status}` };
        }
        return await readCapped(response, options.maxBytes, current, options.spillDir).catch(failure);
      }
      return { status: 'failed', detail: `more than ${MAX_REDIRECTS} redirects` };
    },
  };
}

/** Why a URL is not requested (not http(s), credentials in it, host not allowed), or undefined. */
function refusalOf(url: string, allowed: (host: string) => boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return `scheme ${parsed.protocol} is not http(s)`;
  if (parsed.username || parsed.password) return 'a URL with credentials';
  if (!allowed(parsed.hostname)) return `host ${parsed.hostname} is not in the attachment hosts`;
  return undefined;
}

/** `cdn.livechat-files.com` matches itself; `*.example.com` matches its subdomains. Case-insensitive. */
export function hostMatcher(hosts: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const host of hosts.map((h) => h.trim().toLowerCase()).filter(Boolean)) {
    if (host.startsWith('*.')) suffixes.push(host.slice(1));
    else exact.add(host);
  }
  return (host) => {
    const name = host.toLowerCase().replace(/\.$/, '');
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length);
  };
}

/** Streams the body into one buffer of its length (BodyBytes), hashing as it goes; stops past `maxBytes`. */
async function readCapped(
  response: Response,
  maxBytes: number,
  finalUrl: string,
  spillDir: string | undefined,
): Promise<FetchedFile> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const contentType = response.headers.get('content-type') ?? undefined;
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return tooLarge(response.status, maxBytes, declared);
  }
  const body = new BodyBytes(Number.isFinite(declared) ? declared : 0, spillDir);
  try {
    const hash = createHash('sha256');
    const reader = response.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      if (body.length + value.length > maxBytes) {
        await reader.cancel();
        return tooLarge(response.status, maxBytes);
      }
      await body.append(value);
      hash.update(value);
    }
    return {
      status: 'stored',
      body: await body.bytes(),
      sha256: hash.digest('hex'),
      ...(contentType ? { contentType } : {}),
      httpStatus: response.status,
      finalUrl,
    };
  } finally {
    await body.dispose();
  }
}

function tooLarge(httpStatus: number, maxBytes: number, size?: number): FetchedFile {
  return {
    status: 'too_large',
    httpStatus,
    ...(size !== undefined ? { size } : {}),
    detail: `larger than the ${formatMb(maxBytes)} MB cap`,
  };
}

function failure(error: unknown): FetchedFile {
  if (error instanceof HTTPError) {
    return { status: 'failed', httpStatus: error.response.status, detail: `HTTP ${error.response.status}` };
  }
  if (error instanceof TimeoutError || (error as Error)?.name === 'TimeoutError') {
    return { status: 'failed', detail: 'timed out' };
  }
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  return { status: 'failed', detail: cause ? `network error ${cause}` : (error as Error)?.message || String(error) };
}

function formatMb(bytes: number): string {
  return String(Math.round((bytes / 1_048_576) * 100) / 100);
}
