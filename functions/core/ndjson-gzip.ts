import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** One JSON document per line, gzip-compressed. JSON.stringify escapes newlines inside strings. */
export async function encodeNdjsonGzip(records: readonly unknown[]): Promise<Buffer> {
  const text = records.map((record) => JSON.stringify(record)).join('\n');
  // Level 9: ~3 % smaller pages than the default 6 for ~0.3 ms more CPU per page (bench/RESULTS.md).
  return gzipAsync(records.length ? `${text}\n` : '', { level: 9 });
}

export async function decodeNdjsonGzip<T = Record<string, unknown>>(body: Uint8Array): Promise<T[]> {
  const text = (await gunzipAsync(body)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}
