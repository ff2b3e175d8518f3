import { createHash } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostMatcher, safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';

interface Seen {
  host: string;
  path: string;
  headers: IncomingMessage['headers'];
}

/** A local HTTP server that records every request it gets. */
async function recordingServer(route: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ host: String(req.headers.host), path: req.url ?? '', headers: req.headers });
    route(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const BYTES = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251));
let flaky = 0;
/** Bytes the chunked route had written when the client hung up. */
let chunkedSent = 0;
const CHUNKED_TOTAL = 50_000_000;
let allowed: Awaited<ReturnType<typeof recordingServer>>;
let outside: Awaited<ReturnType<typeof recordingServer>>;

beforeAll(async () => {
  outside = await recordingServer((_req, res) => res.writeHead(200).end('secret metadata'));
  allowed = await recordingServer((req, res) => {
    const path = req.url ?? '';
    if (path === '/file.bin') return res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(BYTES);
    if (path === '/gone') return res.writeHead(404).end();
    if (path === '/removed') return res.writeHead(410).end();
    if (path === '/moved') return res.writeHead(302, { Location: '/file.bin' }).end();
    if (path === '/escape')
      return res.writeHead(302, { Location: `http://localhost:${outside.port}/latest/meta-data/` }).end();
    if (path === '/loop') return res.writeHead(302, { Location: '/loop' }).end();
    if (path === '/flaky') {
      flaky += 1;
      return flaky < 3 ? res.writeHead(503).end() : res.writeHead(200).end('ok at last');
    }
    if (path === '/down') return res.writeHead(500).end();
    if (path === '/big-declared') return res.writeHead(200, { 'Content-Length': String(BYTES.length) }).end(BYTES);
    if (path === '/chunked-file') {
      res.writeHead(200, { 'Content-Type': 'application/pdf' }); // no Content-Length: chunked
      for (let offset = 0; offset < BYTES.length; offset += 10_000) res.write(BYTES.subarray(offset, offset + 10_000));
      return res.end();
    }
    if (path === '/gzipped') {
      // Content-Length counts the encoded bytes; fetch decodes them into a longer body.
      const encoded = gzipSync(BYTES);
      return res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': String(encoded.length) }).end(encoded);
    }
    if (path === '/big-chunked') {
      // No Content-Length: the cap has to hold while the body streams in.
      res.writeHead(200);
      let sent = 0;
      const pump = () => {
        while (sent < CHUNKED_TOTAL && !res.destroyed) {
          sent += 65_536;
          if (!res.write(Buffer.alloc(65_536, 7))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      res.on('close', () => {
        chunkedSent = sent;
      });
      return pump();
    }
    res.writeHead(404).end();
  });
});

afterAll(async () => {
  await allowed.close();
  await outside.close();
});

const base = () => `http://127.0.0.1:${allowed.port}`;
const fetcher = (maxBytes = 1_000_000) =>
  safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes, baseRetryDelayMs: 5, timeoutMs: 2_000 });

describe('safe file fetching', () => {
  it('stores the bytes unchanged with their sha256, and sends no credential', async () => {
    const result = await fetcher().fetch(`${base()}/file.bin`);
    expect(result.status).toBe('stored');
    if (result.status !== 'stored') return;
    expect(Buffer.from(result.body).equals(BYTES)).toBe(true);
    expect(result.sha256).toBe(createHash('sha256').update(BYTES).digest('hex'));
    expect(result.contentType).toBe('application/pdf');
    const request = allowed.seen.find((seen) => seen.path === '/file.bin')!;
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers.cookie).toBeUndefined();
    expect(Object.keys(request.headers).filter((name) => /auth|token|api-key|x-region/i.test(name))).toEqual([]);
  });

  it('never requests a host outside the allowlist, nor follows a redirect out of it', async () => {
    const before = outside.seen.length;
    const direct = await fetcher().fetch(`http://localhost:${outside.port}/latest/meta-data/`);
    expect(direct).toMatchObject({ status: 'refused_host' });
    const metadata = await fetcher().fetch('http://169.254.169.254/latest/meta-data/iam/');
    expect(metadata).toMatchObject({ status: 'refused_host' });
    const redirected = await fetcher().fetch(`${base()}/escape`);
    expect(redirected).toMatchObject({ status: 'refused_host', detail: expect.stringContaining('redirected') });
    expect(outside.seen.length).toBe(before);
  });

  it('refuses non-http schemes and URLs that carry credentials', async () => {
    expect(await fetcher().fetch('file:///etc/passwd')).toMatchObject({ status: 'refused_host' });
    expect(await fetcher().fetch(`http://user:pw@127.0.0.1:${allowed.port}/file.bin`)).toMatchObject({
      status: 'refused_host',
    });
    expect(await fetcher().fetch('not a url')).toMatchObject({ status: 'refused_host' });
  });

  it('follows a redirect within the allowlist, and gives up on a loop', async () => {
    const moved = await fetcher().fetch(`${base()}/moved`);
    expect(moved.status).toBe('stored');
    expect(await fetcher().fetch(`${base()}/loop`)).toMatchObject({ status: 'failed' });
  });

  it('records 404 and 410 as gone, retries 5xx, and fails after the retries', async () => {
    expect(await fetcher().fetch(`${base()}/gone`)).toMatchObject({ status: 'gone', httpStatus: 404 });
    expect(await fetcher().fetch(`${base()}/removed`)).toMatchObject({ status: 'gone', httpStatus: 410 });
    expect(await fetcher().fetch(`${base()}/flaky`)).toMatchObject({ status: 'stored' });
    const before = allowed.seen.filter((seen) => seen.path === '/down').length;
    expect(await fetcher().fetch(`${base()}/down`)).toMatchObject({ status: 'failed', httpStatus: 500 });
    expect(allowed.seen.filter((seen) => seen.path === '/down').length - before).toBe(3);
  });

  it('caps a file: by its Content-Length before reading, and while streaming when it has none', async () => {
    expect(await fetcher(100_000).fetch(`${base()}/big-declared`)).toMatchObject({
      status: 'too_large',
      size: 200_000,
    });
    const chunked = await fetcher(1_000_000).fetch(`${base()}/big-chunked`);
    expect(chunked).toMatchObject({ status: 'too_large' });
    // Stopped at the cap: the connection closed long before the host's 50 MB were sent.
    await expect.poll(() => chunkedSent).toBeGreaterThan(0);
    expect(chunkedSent).toBeLessThan(CHUNKED_TOTAL / 2);
    expect((await fetcher(200_000).fetch(`${base()}/file.bin`)).status).toBe('stored');
  });

  it('gathers a body without a Content-Length, or decoded past it, into one buffer of its exact length, and leaves no temporary file', async () => {
    const spillDir = await mkdtemp(join(tmpdir(), 'attachment-spill-'));
    const spilling = (maxBytes: number) =>
      safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes, baseRetryDelayMs: 5, timeoutMs: 2_000, spillDir });
    for (const path of ['/chunked-file', '/gzipped']) {
      const result = await spilling(1_000_000).fetch(`${base()}${path}`);
      expect(result.status, path).toBe('stored');
      if (result.status !== 'stored') return;
      expect(Buffer.from(result.body).equals(BYTES), path).toBe(true);
      expect(result.sha256).toBe(createHash('sha256').update(BYTES).digest('hex'));
      // The file is held once: its memory is its length (a buffer grown by doubling holds up to twice as much).
      expect(result.body.buffer.byteLength, path).toBe(BYTES.length);
    }
    expect(await spilling(1_000_000).fetch(`${base()}/big-chunked`)).toMatchObject({ status: 'too_large' });
    expect(await readdir(spillDir)).toEqual([]);
  });

  it('matches hosts exactly or by a *. suffix, case-insensitively', () => {
    const allow = hostMatcher(['cdn.livechat-files.com', '*.example.com']);
    expect(allow('CDN.livechat-files.com')).toBe(true);
    expect(allow('evil-cdn.livechat-files.com')).toBe(false);
    expect(allow('livechat-files.com')).toBe(false);
    expect(allow('a.example.com')).toBe(true);
    expect(allow('example.com')).toBe(false);
    expect(allow('example.com.evil.org')).toBe(false);
  });
});
