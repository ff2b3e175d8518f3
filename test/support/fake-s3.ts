import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeS3 {
  endpoint: string;
  objects: Map<string, { body: Buffer; contentEncoding?: string }>;
  /** Answer the next `count` PUTs with this status (503 SlowDown, 500 InternalError). */
  failNextPuts(count: number, status: 500 | 503): void;
  putsRefused: number;
  close(): Promise<void>;
}

/**
 * Just enough of S3's REST API (path style: PUT object, ListObjectsV2, DeleteObjects)
 * to run the real AWS SDK, its retries included, against 127.0.0.1.
 */
export async function startFakeS3(): Promise<FakeS3> {
  const objects = new Map<string, { body: Buffer; contentEncoding?: string }>();
  let refuse = { count: 0, status: 503 };
  const state = { putsRefused: 0 };

  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const body = await readBody(request);
    if (request.method === 'PUT' && key) {
      if (refuse.count > 0) {
        refuse.count -= 1;
        state.putsRefused += 1;
        const code = refuse.status === 503 ? 'SlowDown' : 'InternalError';
        response.writeHead(refuse.status, { 'content-type': 'application/xml' });
        response.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>try again</Message></Error>`);
        return;
      }
      objects.set(`${bucket}/${key}`, { body, contentEncoding: request.headers['content-encoding'] });
      response.writeHead(200, { etag: '"fake"' });
      response.end();
      return;
    }
    if (request.method === 'GET' && url.searchParams.get('list-type') === '2') {
      const prefix = `${bucket}/${url.searchParams.get('prefix') ?? ''}`;
      const keys = [...objects.keys()]
        .filter((name) => name.startsWith(prefix))
        .map((name) => name.slice(bucket!.length + 1));
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0"?><ListBucketResult><Name>${bucket}</Name><IsTruncated>false</IsTruncated>${keys
          .map((name) => `<Contents><Key>${escapeXml(name)}</Key><Size>1</Size></Contents>`)
          .join('')}</ListBucketResult>`,
      );
      return;
    }
    if (request.method === 'GET' && key) {
      const object = objects.get(`${bucket}/${key}`);
      if (!object) {
        response.writeHead(404, { 'content-type': 'application/xml' });
        response.end('<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>');
        return;
      }
      response.writeHead(200, { 'content-length': String(object.body.length) });
      response.end(object.body);
      return;
    }
    if (request.method === 'POST' && url.searchParams.has('delete')) {
      for (const match of body.toString().matchAll(/<Key>([^<]*)<\/Key>/g))
        objects.delete(`${bucket}/${unescapeXml(match[1]!)}`);
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0"?><DeleteResult></DeleteResult>');
      return;
    }
    response.writeHead(400);
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    failNextPuts(count, status) {
      refuse = { count, status };
    },
    get putsRefused() {
      return state.putsRefused;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unescapeXml = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
