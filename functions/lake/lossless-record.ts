import type { LakeField, LakeType } from './chat-columns.ts';
import { EXTRA_FIELD } from './thread-columns.ts';

/**
 * Lake records that lose nothing of the API object they come from, for a table whose columns
 * are `fields` (chat_threads, functions/lake/thread-columns.ts):
 *
 * - a field whose value fits its declared type is stored as is (objects recursively);
 * - a `json` field is stored as its JSON text, so free-form objects stay readable by Athena's
 *   Hive JSON SerDe (a string column) and queryable with json_extract;
 * - a field the table does not declare, or whose value does not fit its type (a string where
 *   an int is declared, an int out of range), goes into the object's `_extra` JSON text.
 *
 * `fromLakeRecord` undoes it: `fromLakeRecord(toLakeRecord(x, f), f)` deep-equals `x`.
 */
type Json = Record<string, unknown>;

export function toLakeRecord(value: Json, fields: readonly LakeField[]): Json {
  return encodeObject(value, fields);
}

export function fromLakeRecord(record: Json, fields: readonly LakeField[]): Json {
  return decodeObject(record, fields);
}

function encodeObject(value: Json, fields: readonly LakeField[]): Json {
  const declared = new Map(fields.map((f) => [f.name, f]));
  const out: Json = {};
  const extra: Json = {};
  for (const [key, item] of Object.entries(value)) {
    const f = key === EXTRA_FIELD ? undefined : declared.get(key);
    const encoded = f ? encodeValue(item, f.type) : undefined;
    if (encoded) out[key] = encoded.value;
    else extra[key] = item;
  }
  if (Object.keys(extra).length > 0) out[EXTRA_FIELD] = JSON.stringify(extra);
  return out;
}

/** The stored form of `value` if it fits `type`, else undefined (the caller keeps it in `_extra`). */
function encodeValue(value: unknown, type: LakeType): { value: unknown } | undefined {
  if (value === null) return { value };
  switch (type.kind) {
    case 'json':
      return { value: JSON.stringify(value) };
    case 'string':
      return typeof value === 'string' ? { value } : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? { value } : undefined;
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? { value } : undefined;
    case 'int':
      return Number.isInteger(value) && Math.abs(value as number) <= 2 ** 31 - 1 ? { value } : undefined;
    case 'bigint':
      return Number.isSafeInteger(value) ? { value } : undefined;
    case 'array': {
      if (!Array.isArray(value)) return undefined;
      const items: unknown[] = [];
      for (const item of value) {
        const encoded = encodeValue(item, type.element);
        if (!encoded) return undefined;
        items.push(encoded.value);
      }
      return { value: items };
    }
    case 'struct':
      return isObject(value) ? { value: encodeObject(value, type.fields) } : undefined;
  }
}

function decodeObject(record: Json, fields: readonly LakeField[]): Json {
  const declared = new Map(fields.map((f) => [f.name, f]));
  const out: Json = {};
  for (const [key, item] of Object.entries(record)) {
    if (key === EXTRA_FIELD) {
      if (typeof item === 'string') Object.assign(out, JSON.parse(item) as Json);
      continue;
    }
    const f = declared.get(key);
    out[key] = f ? decodeValue(item, f.type) : item;
  }
  return out;
}

function decodeValue(value: unknown, type: LakeType): unknown {
  if (value === null || value === undefined) return value;
  switch (type.kind) {
    case 'json':
      return JSON.parse(value as string);
    case 'array':
      return (value as unknown[]).map((item) => decodeValue(item, type.element));
    case 'struct':
      return decodeObject(value as Json, type.fields);
    default:
      return value;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
