import { CHAT_SCHEMA, type LakeField, type LakeType, MISTYPED_FIELD } from './chat-columns.ts';

export { MISTYPED_FIELD };

/**
 * Type drift at write (issue 20, point 10). Athena's Hive JSON SerDe fails a whole query on one
 * value that does not fit its column (a string where an int is declared, an int out of range, an
 * object where a string is), so one changed LiveChat field would make every query over those days
 * fail. Before a `chats` record is written, each value that does not fit its declared column type
 * is set aside: removed from its place (an array element becomes null, so the others keep their
 * positions) and kept in the record's `_mistyped` column, the JSON text of
 * `{"<JSON pointer>": <value as LiveChat sent it>}` (RFC 6901), e.g. `{"/duration": "12 minutes"}`.
 * Nothing is lost (`restoreMistyped` puts the values back) and every day stays readable. Fields
 * the table does not declare are not touched here (the readers ignore them; they are reported as
 * unknown fields).
 */

type Json = Record<string, unknown>;

/** What a write set aside: how many values, and where (field paths only, never values). */
export interface Mistyped {
  values: number;
  fields: string[];
}

/** Sets aside the mistyped values of every record of a file; `mistyped` only when there were some. */
export function setAsideInRecords(
  records: readonly Json[],
  schema: readonly LakeField[] = CHAT_SCHEMA,
): { records: Json[]; mistyped?: Mistyped } {
  let values = 0;
  const fields = new Set<string>();
  const out = records.map((record) => {
    const aside = setAsideMistyped(record, schema);
    values += aside.values;
    for (const path of aside.paths) fields.add(path);
    return aside.record;
  });
  return values > 0 ? { records: out, mistyped: { values, fields: [...fields].sort() } } : { records: out };
}

/** Two counts of set-aside values as one (a run's, a slice's). */
export function addMistyped(a: Mistyped | undefined, b: Mistyped | undefined): Mistyped | undefined {
  if (!a) return b;
  if (!b) return a;
  return { values: a.values + b.values, fields: [...new Set([...a.fields, ...b.fields])].sort() };
}

export interface SetAside {
  /** The record to write: the input itself when every value fits, else a copy with `_mistyped`. */
  record: Json;
  /** Where values were set aside, by field path (`duration`, `messages[].timestamp`), sorted; names only, never values. */
  paths: string[];
  /** How many values were set aside. */
  values: number;
}

interface Found {
  pointer: (string | number)[];
  path: string;
}

export function setAsideMistyped(record: Json, schema: readonly LakeField[] = CHAT_SCHEMA): SetAside {
  const found: Found[] = [];
  checkObject(record, schema, [], found);
  if (found.length === 0) return { record, paths: [], values: 0 };
  const copy = structuredClone(record);
  const moved: Json = {};
  for (const { pointer } of found) {
    moved[pointerText(pointer)] = valueAt(record, pointer);
    const parent = valueAt(copy, pointer.slice(0, -1)) as Json | unknown[];
    const last = pointer.at(-1)!;
    if (Array.isArray(parent)) parent[last as number] = null;
    else delete parent[last as string];
  }
  copy[MISTYPED_FIELD] = JSON.stringify(moved);
  return { record: copy, paths: [...new Set(found.map((f) => f.path))].sort(), values: found.length };
}

/** The record as LiveChat sent it: every set-aside value back in its place, `_mistyped` gone. */
export function restoreMistyped(record: Json): Json {
  const text = record[MISTYPED_FIELD];
  if (typeof text !== 'string') return record;
  const copy = structuredClone(record);
  delete copy[MISTYPED_FIELD];
  for (const [pointer, value] of Object.entries(JSON.parse(text) as Json)) {
    const keys = pointer
      .slice(1)
      .split('/')
      .map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
    const parent = valueAt(copy, keys.slice(0, -1)) as Json | unknown[];
    const last = keys.at(-1)!;
    if (Array.isArray(parent)) parent[Number(last)] = value;
    else parent[last] = value;
  }
  return copy;
}

function pointerText(pointer: readonly (string | number)[]): string {
  return pointer.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function valueAt(root: unknown, pointer: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of pointer) value = (value as Record<string | number, unknown>)[key];
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Walks `value` against `fields`, with the JSON pointer of the value being checked in `at` (pushed
 * and popped in place: a chat has thousands of values, and nearly all of them fit).
 */
function checkObject(value: Json, fields: readonly LakeField[], at: (string | number)[], found: Found[]): void {
  for (const f of fields) {
    if (!(f.name in value) || f.name === MISTYPED_FIELD) continue;
    at.push(f.name);
    check(value[f.name], f.type, at, found);
    at.pop();
  }
}

/** Same rules as the strict DuckDB view and lossless-record.ts: JSON type, integral, in range. */
function check(value: unknown, type: LakeType, at: (string | number)[], found: Found[]): void {
  if (value === null || value === undefined) return;
  if (!fits(value, type, at, found)) found.push({ pointer: [...at], path: fieldPath(at) });
}

function fits(value: unknown, type: LakeType, at: (string | number)[], found: Found[]): boolean {
  switch (type.kind) {
    case 'string':
    case 'json':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'double':
      return typeof value === 'number' && Number.isFinite(value);
    case 'int':
      return Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31 - 1;
    case 'bigint':
      return Number.isSafeInteger(value);
    case 'array':
      if (!Array.isArray(value)) return false;
      for (let index = 0; index < value.length; index += 1) {
        at.push(index);
        check(value[index], type.element, at, found);
        at.pop();
      }
      return true;
    case 'struct':
      if (!isObject(value)) return false;
      checkObject(value, type.fields, at, found);
      return true;
  }
}

/** `messages[].timestamp` for the pointer `/messages/3/timestamp`. */
function fieldPath(pointer: readonly (string | number)[]): string {
  let path = '';
  for (const key of pointer) {
    if (typeof key === 'number') path += '[]';
    else path += path ? `.${key}` : key;
  }
  return path;
}
