/**
 * The files the simulators' chats point to, and the server side of fetching them: the URL shape
 * of LiveChat's CDN (`/api/file/lc/att/<license>/<32 hex>/<name>`, Agent Chat API v3.6 "Upload
 * File" example in livechat/livechat-public-docs), on the simulator's own host, with deterministic
 * bytes. The 32-hex id decides what a URL does, so both faces (v2 `attachment` events, v3.6
 * `file` events) and the tests agree: most files are served; some are gone (404), some are on a
 * host outside the allowlist (`localhost`, the same server under another name, so a request to
 * it would be seen), some redirect (within the host, or out of it), and some are above 1 MiB.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Stand-ins in stored chats, replaced by the simulator's own URL (and its `localhost` twin) in every reply. */
export const FILES_ORIGIN_PLACEHOLDER = 'http://files.simulator.invalid';
export const OUTSIDE_ORIGIN_PLACEHOLDER = 'http://outside.simulator.invalid';
const LICENSE = '10000001';
const ATT_PATH = '/api/file/lc/att/';
const MOVED_PATH = '/api/file/moved/';

export type SimulatedFileKind = 'ok' | 'gone' | 'outside' | 'large' | 'redirect' | 'redirect-outside';

/** Bytes of a `large` file: above a 1 MiB cap. */
export const LARGE_FILE_BYTES = 1_572_864;

const NAMES = ['screenshot.png', 'invoice.pdf', 'photo.JPG', 'notes.txt', 'error log.txt', 'order.csv'] as const;

/** What one 32-hex id does (1 in 12 each: gone, outside, large, redirect, redirect-outside). */
export function kindOf(hex: string): SimulatedFileKind {
  const roll = Number.parseInt(hex.slice(0, 4), 16) % 12;
  return (['gone', 'outside', 'large', 'redirect', 'redirect-outside'] as const)[roll] ?? 'ok';
}

/** What a file URL of the simulator does, or undefined for another URL. */
export function kindOfUrl(url: string): SimulatedFileKind | undefined {
  const parsed = parseFileUrl(url);
  return parsed ? kindOf(parsed.hex) : undefined;
}

/** Whether an archiver allowing only the simulator's host, with a 1 MiB cap, should store the file. */
export function storableFromSimulator(url: string): boolean {
  const kind = kindOfUrl(url);
  return kind === 'ok' || kind === 'redirect';
}

function hexOf(n: number): string {
  return createHash('sha256').update(`attachment:${n}`).digest('hex').slice(0, 32);
}

/** The URLs of one v2 `attachment` event (its `files`): one file, or two now and then. */
export function attachmentUrls(n: number): string[] {
  const count = n % 7 === 0 ? 2 : 1;
  return Array.from({ length: count }, (_, index) => fileUrlOf(hexOf(n + index)));
}

function fileUrlOf(hex: string): string {
  const name = NAMES[Number.parseInt(hex.slice(4, 6), 16) % NAMES.length]!;
  const origin = kindOf(hex) === 'outside' ? OUTSIDE_ORIGIN_PLACEHOLDER : FILES_ORIGIN_PLACEHOLDER;
  return `${origin}${ATT_PATH}${LICENSE}/${hex}/${encodeURIComponent(name)}`;
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  pdf: 'application/pdf',
  txt: 'text/plain',
  csv: 'text/csv',
};

/** What a v3.6 `file` event says about a URL: name, content type; images also size, width, height. */
export function fileDescription(url: string): {
  name: string;
  contentType: string;
  image?: { size: number; width: number; height: number };
} {
  const parsed = parseFileUrl(url);
  const name = parsed?.name ?? 'file';
  const extension = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const contentType = CONTENT_TYPES[extension] ?? 'application/octet-stream';
  if (!contentType.startsWith('image/') || !parsed) return { name, contentType };
  return { name, contentType, image: { size: fileSize(parsed.hex), width: 640, height: 480 } };
}

function parseFileUrl(url: string): { hex: string; name: string } | undefined {
  const match = /\/api\/file\/(?:lc\/att|moved)\/\d+\/([0-9a-f]{32})\/([^/?#]+)/.exec(url);
  return match ? { hex: match[1]!, name: decodeURIComponent(match[2]!) } : undefined;
}

function fileSize(hex: string): number {
  return kindOf(hex) === 'large' ? LARGE_FILE_BYTES : 512 + (Number.parseInt(hex.slice(6, 12), 16) % 48_000);
}

/** The bytes the simulator serves for a URL (deterministic: an AES-CTR keystream of the id), or undefined if it serves none. */
export function simulatedFileBytes(url: string): Buffer | undefined {
  const parsed = parseFileUrl(url);
  if (!parsed || kindOf(parsed.hex) === 'gone') return undefined;
  const key = Buffer.from(parsed.hex, 'hex');
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const bytes = Buffer.concat([cipher.update(Buffer.alloc(fileSize(parsed.hex))), cipher.final()]);
  if (parsed.name.toLowerCase().endsWith('.png')) Buffer.from('89504e470d0a1a0a', 'hex').copy(bytes);
  return bytes;
}

/** Replaces the placeholders of stored chats by the running simulator's origins. */
export function withFileOrigins(text: string, origin: string): string {
  if (!text.includes('.simulator.invalid')) return text;
  return text
    .replaceAll(FILES_ORIGIN_PLACEHOLDER, origin)
    .replaceAll(OUTSIDE_ORIGIN_PLACEHOLDER, outsideOrigin(origin));
}

/** `http://localhost:<port>`: the same server under a host name the tests do not allowlist. */
export function outsideOrigin(origin: string): string {
  return origin.replace(/^http:\/\/[^:/]+/, 'http://localhost');
}

/** A copy of stored chats with the simulator's origins in their file URLs. */
export function rebased<T>(value: T, origin: string): T {
  return JSON.parse(withFileOrigins(JSON.stringify(value), origin)) as T;
}

export interface FileRequest {
  /** The Host header: `127.0.0.1:<port>`, or `localhost:<port>` for the host outside the allowlist. */
  host: string;
  path: string;
  /** Whether the request carried an Authorization header (it never should). */
  authorization: boolean;
  /** Whether it carried a Cookie header. */
  cookie: boolean;
}

/** Whether a request path is a file URL's (served by serveFile, not the API). */
export function isFilePath(path: string): boolean {
  return path.startsWith(ATT_PATH) || path.startsWith(MOVED_PATH);
}

/** Serves a file URL's path when it is one (returns true), recording the request. */
export function serveFile(req: IncomingMessage, res: ServerResponse, origin: string, requests: FileRequest[]): boolean {
  const path = req.url ?? '/';
  if (!isFilePath(path)) return false;
  requests.push({
    host: String(req.headers.host ?? ''),
    path,
    authorization: req.headers.authorization !== undefined,
    cookie: req.headers.cookie !== undefined,
  });
  const parsed = parseFileUrl(path);
  const kind = parsed ? kindOf(parsed.hex) : 'gone';
  if (!parsed || kind === 'gone' || req.method !== 'GET') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found');
    return true;
  }
  if (path.startsWith(ATT_PATH) && (kind === 'redirect' || kind === 'redirect-outside')) {
    const target = kind === 'redirect' ? origin : outsideOrigin(origin);
    res.writeHead(302, { Location: `${target}${path.replace(ATT_PATH, MOVED_PATH)}` }).end();
    return true;
  }
  const bytes = simulatedFileBytes(path)!;
  res.writeHead(200, {
    'Content-Type': fileDescription(path).contentType,
    // The large file comes chunked without a length, so a cap must hold while streaming.
    ...(kind === 'large' ? {} : { 'Content-Length': String(bytes.length) }),
  });
  if (kind !== 'large') {
    res.end(bytes);
    return true;
  }
  let offset = 0;
  const pump = () => {
    while (offset < bytes.length) {
      const chunk = bytes.subarray(offset, offset + 65_536);
      offset += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('error', () => undefined);
  pump();
  return true;
}
