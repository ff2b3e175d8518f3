import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** One JSON document per line, gzip-compressed. JSON.stringify escapes newlines inside strings. */
export async function encodeNdjsonGzip(records: readonly unknown[]): Promise<Buffer> {
  const text = records.map((record) => JSON.stringify(record)).join('\n');
  return gzipAsync(records.length ? `${text}\n` : '');
}

export async function decodeNdjsonGzip<T = Record<string, unknown>>(body: Uint8Array): Promise<T[]> {
  const text = (await gunzipAsync(body)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}
