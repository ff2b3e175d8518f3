import { isUtf8 } from 'node:buffer';

/**
 * The bytes an API sent for a JSON object, kept beside the object JSON.parse made of them, so that
 * a writer stores the object exactly as it was sent instead of serializing it again: JSON.stringify
 * of a page's chats was the largest CPU cost of writing the page (bench/RESULTS.md, section 10),
 * and the bytes as sent keep every field, its order, escapes and number digits as the API wrote them.
 *
 * Keyed by the parsed object itself: a record that was copied (redacted, a value set aside) has no
 * bytes and is serialized as before. Records are never changed in place after parsing (redaction
 * and `_mistyped` copy them), which is what makes the identity a safe key.
 */
const sentBytes = new WeakMap<object, Uint8Array>();

/** The bytes `record` was parsed from, as one NDJSON line can hold them (no CR or LF), if known. */
export function verbatimJsonOf(record: object): Uint8Array | undefined {
  return sentBytes.get(record);
}

/**
 * Remembers, for each object of the array under the top-level `key` of `body` (a JSON document
 * that parsed to a value holding `elements` there, in order), the bytes it was parsed from. Nothing
 * is remembered when the body is not valid UTF-8 (JSON.parse saw replacement characters, not those
 * bytes) or the array does not line up with `elements`; and not for an element whose bytes hold a
 * line break (whitespace between tokens, which a line of NDJSON cannot hold) or a number written
 * otherwise than JSON.stringify writes it (`1562.0`, `1E3`: Athena reads an integer column's
 * value as written, and would refuse those where it reads `1562` and `1000`).
 */
export function rememberVerbatimElements(body: Uint8Array, key: string, elements: readonly object[]): void {
  if (!isUtf8(body)) return;
  const spans = objectSpansOfTopLevelArray(body, key);
  if (!spans || spans.length !== elements.length) return;
  for (let index = 0; index < elements.length; index += 1) {
    const span = spans[index]!;
    if (!span.numbersAsStringified) continue;
    const bytes = body.subarray(span.start, span.end);
    if (bytes.indexOf(LF) === -1 && bytes.indexOf(CR) === -1) sentBytes.set(elements[index]!, bytes);
  }
}

export interface ObjectSpan {
  start: number;
  /** Exclusive. */
  end: number;
  /** Every number in it is written as JSON.stringify writes its value. */
  numbersAsStringified: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Where each element of the array under the top-level `key` of a valid JSON object document starts
 * and ends, or undefined when the document has no such array or an element is not an object. One
 * pass over the bytes: a string is skipped to its closing quote (none of the structural bytes can
 * occur inside a multi-byte UTF-8 sequence), only brackets outside strings are counted, and a
 * number with a fraction or an exponent is compared with JSON.stringify's writing of it. A key that
 * occurs twice: the last one, as JSON.parse keeps it.
 */
export function objectSpansOfTopLevelArray(body: Uint8Array, key: string): ObjectSpan[] | undefined {
  const wanted = Buffer.from(JSON.stringify(key), 'utf8');
  let spans: ObjectSpan[] | undefined;
  let current: ObjectSpan[] | undefined;
  let depth = 0;
  let keyStart = -1;
  let keyEnd = -1;
  let element: ObjectSpan | undefined;
  const end = body.length;
  for (let at = 0; at < end; at += 1) {
    const byte = body[at]!;
    if (byte === QUOTE) {
      const start = at;
      for (at += 1; body[at] !== QUOTE; at += 1) if (body[at] === BACKSLASH) at += 1;
      if (depth === 2 && current) return undefined; // a string element
      if (depth === 1) {
        keyStart = start;
        keyEnd = at + 1;
      }
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (depth === 0 && byte === OPEN_ARRAY) return undefined; // the document is not an object
      depth += 1;
      if (depth === 2 && byte === OPEN_ARRAY) {
        current = sameBytes(body, keyStart, keyEnd, wanted) ? [] : undefined;
      } else if (depth === 3 && current) {
        if (byte !== OPEN_OBJECT) return undefined;
        element = { start: at, end: -1, numbersAsStringified: true };
      }
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (depth === 3 && element) {
        element.end = at + 1;
        current!.push(element);
        element = undefined;
      }
      if (depth === 2 && current) {
        spans = current;
        current = undefined;
      }
      depth -= 1;
    } else if (byte === MINUS || (byte >= DIGIT_0 && byte <= DIGIT_9)) {
      if (depth === 2 && current) return undefined; // a number element
      const start = at;
      let plain = byte !== MINUS || body[at + 1] !== DIGIT_0; // -0 is written 0
      for (; at + 1 < end && isNumberByte(body[at + 1]!); at += 1)
        if (body[at + 1]! > DIGIT_9 || body[at + 1] === 0x2e) plain = false;
      if (!plain && element && !writtenAsStringified(body, start, at + 1)) element.numbersAsStringified = false;
    } else if (depth === 2 && current && byte !== COMMA && byte > 0x20) {
      return undefined; // true, false or null as an element
    }
  }
  return spans;
}

/** Digits, `.`, `e`, `E`, `+`, `-`. */
function isNumberByte(byte: number): boolean {
  return (
    (byte >= DIGIT_0 && byte <= DIGIT_9) ||
    byte === 0x2e ||
    byte === 0x65 ||
    byte === 0x45 ||
    byte === 0x2b ||
    byte === MINUS
  );
}

function writtenAsStringified(body: Uint8Array, start: number, end: number): boolean {
  const text = Buffer.from(body.buffer, body.byteOffset + start, end - start).toString('latin1');
  return JSON.stringify(Number(text)) === text;
}

function sameBytes(body: Uint8Array, start: number, end: number, wanted: Buffer): boolean {
  if (start < 0 || end - start !== wanted.length) return false;
  for (let index = 0; index < wanted.length; index += 1) if (body[start + index] !== wanted[index]) return false;
  return true;
}
