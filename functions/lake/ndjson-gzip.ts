import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { verbatimJsonOf } from '#shared/verbatim-json.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const GZIP_CHUNK_BYTES = 64 * 1024;

/**
 * One JSON document per line, gzip-compressed. JSON.stringify escapes newlines inside strings.
 * `appended` fields are added at the end of every (object) record as text, without copying
 * the records: a page is written with no per-chat allocation beyond its JSON.
 */
export async function encodeNdjsonGzip(
  records: readonly object[],
  appended: Record<string, string | number> = {},
): Promise<Buffer> {
  return gzipNdjson(encodeNdjson(records, appended).text);
}

/**
 * The NDJSON of `records` with `appended` added at the end of every line. A record whose bytes as
 * the API sent them are known (verbatim-json.ts) is copied as those bytes; any other is stringified
 * once and its UTF-8 written straight into the body (no joined text encoded again).
 * `ends[i]` is where line `i` ends in `text` (its newline); `ndjsonLine` reads a line back.
 */
export function encodeNdjson(
  records: readonly object[],
  appended: Record<string, string | number> = {},
): { text: Buffer; ends: number[] } {
  const tail = JSON.stringify(appended).slice(1); // `"a":1,"b":"x"}` or `}`
  const withComma = Buffer.from(`,${tail}\n`, 'utf8');
  const bare = Buffer.from(`${tail}\n`, 'utf8');
  const jsons = records.map((record) => verbatimJsonOf(record) ?? JSON.stringify(record));
  let size = 0;
  for (const json of jsons)
    size += (typeof json === 'string' ? Buffer.byteLength(json, 'utf8') : json.length) + withComma.length;
  const text = Buffer.allocUnsafe(size);
  const ends: number[] = [];
  let at = 0;
  for (const json of jsons) {
    // The closing brace goes after the appended fields; `{}` and `{ }` take them without a comma.
    let empty: boolean;
    if (typeof json === 'string') {
      at += text.write(json, at, 'utf8') - 1;
      empty = json.length === 2;
    } else {
      text.set(json, at);
      at += json.length - 1;
      empty = isEmptyObject(json);
    }
    at += (!empty && tail.length > 1 ? withComma : bare).copy(text, at);
    ends.push(at - 1);
  }
  return { text: text.subarray(0, at), ends };
}

/** `{}`, with any whitespace inside. */
function isEmptyObject(json: Uint8Array): boolean {
  for (let index = 1; index < json.length - 1; index += 1) if (json[index]! > 0x20) return false;
  return true;
}

/** Line `index` of an `encodeNdjson` text, without its newline. */
export function ndjsonLine(text: Buffer, ends: readonly number[], index: number): string {
  return text.toString('utf8', index === 0 ? 0 : ends[index - 1]! + 1, ends[index]);
}

/**
 * Level 5: on realistic ~120 KB pages (25 chats of 8-14 messages) it takes 0.68 ms of CPU a page
 * where level 6, zlib's default, takes 0.9 ms, for 2.7 % more bytes (10.8 % of the NDJSON instead
 * of 10.6 %; 13.6 % instead of 13.4 % on ~62 KB pages): a page is compressed once (settling copies
 * whole pages), and this is the largest single cost of archiving it (bench/RESULTS.md, section 10).
 */
export const NDJSON_GZIP_LEVEL = 5;

/** NDJSON bytes (every line ending with a newline), gzip-compressed. */
export async function gzipNdjson(text: Buffer): Promise<Buffer> {
  // A Buffer in and a 64 KB output chunk: the page is compressed in one pass of the zlib stream.
  return gzipAsync(text, { level: NDJSON_GZIP_LEVEL, chunkSize: GZIP_CHUNK_BYTES });
}

export async function decodeNdjsonGzip<T = Record<string, unknown>>(body: Uint8Array): Promise<T[]> {
  const text = (await gunzipAsync(body)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

/**
 * Rewrites a gzip NDJSON body without the records `drop` picks. The records kept stay
 * byte-identical (their lines are copied, never re-serialized). `body` is undefined when no
 * record is left; `dropped` is 0 (and `body` the input) when nothing matched.
 */
export async function dropNdjsonGzipRecords(
  body: Uint8Array,
  drop: (record: Record<string, unknown>) => boolean,
): Promise<{ dropped: number; body: Uint8Array | undefined }> {
  const lines = (await gunzipAsync(body))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const kept = lines.filter((line) => !drop(JSON.parse(line) as Record<string, unknown>));
  const dropped = lines.length - kept.length;
  if (dropped === 0) return { dropped, body };
  return { dropped, body: kept.length ? await gzipAsync(`${kept.join('\n')}\n`, { level: 9 }) : undefined };
}
