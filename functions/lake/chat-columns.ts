/**
 * The chat lake's schema: one source of truth for the Glue/Athena table (built by the CDK code
 * from `glueType`) and for local DuckDB queries (`duckdbType`, `duckdbColumnsStruct()`).
 *
 * Layout written by the archiver: `chats/dt=YYYY-MM-DD/page-00001.json.gz`, gzip NDJSON,
 * one chat per line, every LiveChat REST API v2 "list chats" field verbatim plus the
 * archiver's metadata fields `_run_id`, `_archived_at` and `_page`.
 * The v3.6 source (`list_archives`) writes `chats/dt=YYYY-MM-DD/v36-<slice>-part-00001.json.gz`
 * with its threads mapped onto these same columns (functions/sources/v36/archive-mapping.ts);
 * there `_page` is the part number within the slice. The raw v3.6 entries have their own table,
 * `chat_threads` (thread-columns.ts).
 *
 * The columns are the full documented v2 chat object: LiveChat's REST API v2 reference,
 * "Get list of chats" (livechat-public-docs src/pages/management/configuration-api/v2.0/index.mdx;
 * see shared/notes/livechat-api-facts.md, section 1), in the order of its example, with the
 * documented nested fields and types (`goals[].order.price` is a string, e.g. "199"). Also kept,
 * from real clients of the API: the flat `visitor_name` / `visitor_id` / `visitor_ip` of older
 * responses (the seed example), `pending` (with include_pending), `tickets`, and a missed
 * chat's left message (`time`, `email`, `message`). Optional in the data (absent or null):
 * everything except `id` and the metadata; "only if ..." fields are marked in the comments.
 * A field the API sends that is not here is still written verbatim and reported by name
 * (`unknownFieldPaths`), so the table can be extended.
 *
 * The types are described once as a small type tree (`CHAT_SCHEMA`); `glueType`,
 * `duckdbType`, the DuckDB `read_json` columns and the JS validator are all rendered from it.
 */

export type LakeType =
  | { readonly kind: 'string' }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'int' }
  | { readonly kind: 'bigint' }
  | { readonly kind: 'double' }
  /** Free-form JSON stored as its JSON text (a string in the file): see lossless-record.ts. */
  | { readonly kind: 'json' }
  | { readonly kind: 'array'; readonly element: LakeType }
  | { readonly kind: 'struct'; readonly fields: readonly LakeField[] };

export interface LakeField {
  readonly name: string;
  readonly type: LakeType;
  /** A record without this field (or with null) violates the lake contract. */
  readonly required?: boolean;
  readonly comment: string;
}

export interface LakeColumn {
  name: string;
  glueType: string;
  duckdbType: string;
  comment: string;
}

export const STRING: LakeType = { kind: 'string' };
export const INT: LakeType = { kind: 'int' };
export const BIGINT: LakeType = { kind: 'bigint' };
export const BOOLEAN: LakeType = { kind: 'boolean' };
export const arrayOf = (element: LakeType): LakeType => ({ kind: 'array', element });
export const struct = (...fields: LakeField[]): LakeType => ({ kind: 'struct', fields });
export const field = (name: string, type: LakeType, comment: string, required = false): LakeField =>
  required ? { name, type, comment, required } : { name, type, comment };

const PERSON = struct(field('display_name', STRING, 'Display name'), field('email', STRING, 'Login e-mail'));
const KEY_VALUE = struct(field('key', STRING, 'Variable name'), field('value', STRING, 'Variable value'));

const SURVEY_ANSWER = struct(
  field('key', STRING, 'Question'),
  field('value', STRING, 'Answer'),
  field('id', STRING, 'Question id'),
);

const VISITOR = struct(
  field('id', STRING, 'LiveChat visitor id, e.g. S1355415390.49b8940793'),
  field('name', STRING, 'Visitor display name'),
  field('ip', STRING, 'Visitor IP address'),
  field('city', STRING, 'City (geolocation, local language)'),
  field('country', STRING, 'Country name (English)'),
  field('country_code', STRING, 'ISO 3166-1 alpha-2 country code, e.g. HK'),
  field('timezone', STRING, 'Visitor time zone, e.g. Asia/Hong_Kong'),
  field('region', STRING, 'Region: state, voivodeship, canton... (may be empty)'),
  field('user_agent', STRING, 'Browser user agent'),
);

/** A transcript line: `messages[]`, and the `message` events of `events[]`. */
const MESSAGE_FIELDS = [
  field('author_name', STRING, 'Author display name'),
  field('text', STRING, 'Message text'),
  field('date', STRING, 'Message time as the API formats it'),
  field('timestamp', BIGINT, 'Message time, Unix seconds'),
  field('user_type', STRING, "'visitor', 'agent' or 'supervisor'"),
  field('agent_id', STRING, 'Agent login; only on agent/supervisor messages'),
] as const;

const GOAL = struct(
  field('id', INT, 'Goal id'),
  field('name', STRING, 'Goal name'),
  field('type', STRING, "'sales_tracker' for a tracked sale (absent for plain goals)"),
  field('date', STRING, 'When the goal was reached, as the API formats it'),
  field('timestamp', BIGINT, 'When the goal was reached, Unix seconds'),
  field(
    'order',
    struct(
      field('id', STRING, 'Order id (empty for plain goals)'),
      field('description', STRING, 'Order description'),
      field('price', STRING, 'Order price as text, e.g. "199"'),
      field('currency', STRING, 'Currency code, e.g. CZK'),
    ),
    'The sale (reserved word: quote as "order" in SQL)',
  ),
);

/** The `chats` column holding values set aside because they do not fit their type (mistyped-values.ts). */
export const MISTYPED_FIELD = '_mistyped';

/** Top-level fields of one lake record, in the order of the documented example, then metadata. */
export const CHAT_SCHEMA: readonly LakeField[] = [
  field('type', STRING, "Chat type: 'chat' or 'missed_chat'"),
  field('id', STRING, 'LiveChat chat id, e.g. MH022RD0K5 (not unique in the lake: re-archives add copies)', true),
  field('visitor_name', STRING, 'Visitor display name (flat field of older responses; see visitor.name)'),
  field('visitor_id', STRING, 'LiveChat visitor id (flat field of older responses; see visitor.id)'),
  field('visitor_ip', STRING, 'Visitor IP address (flat field of older responses; see visitor.ip)'),
  field('visitor', VISITOR, 'The visitor: id, name, IP, geolocation, time zone, user agent'),
  field('agents', arrayOf(PERSON), 'Agents who took part in the chat (empty for missed chats)'),
  field('supervisors', arrayOf(PERSON), 'Supervisors of the chat (may be absent)'),
  field('rate', STRING, "Rating: 'not_rated', 'rated_good' or 'rated_bad'"),
  field('duration', INT, 'Chat duration in seconds'),
  field('chat_start_url', STRING, 'Page the chat was started on'),
  field('referrer', STRING, 'Referrer URL (only if there was one)'),
  field('group', arrayOf(INT), 'Group ids the chat belonged to (reserved word: quote as "group" in SQL)'),
  field('started', STRING, "Start time as the API formats it, e.g. 'Wed, 01/23/13 11:40:53 am'"),
  field('prechat_survey', arrayOf(SURVEY_ANSWER), 'Pre-chat survey answers (may be absent)'),
  field('postchat_survey', arrayOf(SURVEY_ANSWER), 'Post-chat survey answers (may be absent)'),
  field('custom_variables', arrayOf(KEY_VALUE), 'Custom variables from the tracking code (only when defined)'),
  field(
    'integration_variables',
    arrayOf(KEY_VALUE),
    'Integration variables, e.g. facebook.* (only after a Facebook login)',
  ),
  field('goals', arrayOf(GOAL), 'Goals reached and sales tracked in the chat (only if any)'),
  field(
    'queue',
    struct(field('duration', INT, 'Seconds in the queue')),
    'Queue wait (only if the chat started queued)',
  ),
  field('tags', arrayOf(STRING), 'Tags of the chat'),
  field('timezone', STRING, 'Time zone of the dates, e.g. Europe/Berlin'),
  field('messages', arrayOf(struct(...MESSAGE_FIELDS)), 'Chat transcript in order'),
  field(
    'events',
    arrayOf(
      struct(
        ...MESSAGE_FIELDS,
        field('type', STRING, "'message', 'attachment' or 'event'"),
        field('files', arrayOf(STRING), 'Attachment URLs (type attachment)'),
        field('event_type', STRING, "What happened (type event), e.g. 'closed'"),
      ),
    ),
    'Everything that happened in the chat, in order: messages, attachments, events',
  ),
  field('engagement', STRING, "How the chat started: 'auto_invite', 'manual_invite' or 'immediate_start'"),
  field('pending', BOOLEAN, 'true for a chat that has not ended (only with include_pending=1)'),
  field('tickets', arrayOf(STRING), 'Tickets created from the chat'),
  field('time', STRING, 'Missed chat: when the visitor left the message'),
  field('email', STRING, 'Missed chat: e-mail the visitor left'),
  field('message', STRING, 'Missed chat: the message the visitor left'),
  field('started_timestamp', BIGINT, 'Chat start, Unix seconds'),
  field('ended_timestamp', BIGINT, 'Chat end, Unix seconds'),
  field('ended', STRING, "End time as the API formats it, e.g. 'Wed, 01/23/13 12:05:09 pm'"),
  field('_run_id', STRING, 'Archiver metadata: id of the archive run that wrote this copy', true),
  field('_archived_at', STRING, 'Archiver metadata: ISO-8601 UTC time this copy was written; latest copy wins', true),
  field('_page', INT, 'Archiver metadata: API page number (1-based) the chat was read from', true),
  field(
    MISTYPED_FIELD,
    { kind: 'json' },
    'Archiver: values LiveChat sent that do not fit their column type, as JSON text {"<JSON pointer>": value} (lossless; the column reads NULL); NULL when every value fits',
  ),
];

// ---------------------------------------------------------------------------------------------
// Renderers

/** Hive/Glue type string, e.g. `array<struct<id:int,name:string>>`. */
export function glueTypeOf(type: LakeType): string {
  switch (type.kind) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'int';
    case 'bigint':
      return 'bigint';
    case 'double':
      return 'double';
    case 'json':
      return 'string';
    case 'array':
      return `array<${glueTypeOf(type.element)}>`;
    case 'struct':
      return `struct<${type.fields.map((f) => `${f.name}:${glueTypeOf(f.type)}`).join(',')}>`;
  }
}

/** DuckDB type string, e.g. `STRUCT("id" INTEGER, "name" VARCHAR)[]` (field names always quoted). */
export function duckdbTypeOf(type: LakeType): string {
  switch (type.kind) {
    case 'string':
      return 'VARCHAR';
    case 'boolean':
      return 'BOOLEAN';
    case 'int':
      return 'INTEGER';
    case 'bigint':
      return 'BIGINT';
    case 'double':
      return 'DOUBLE';
    case 'json':
      return 'VARCHAR';
    case 'array':
      return `${duckdbTypeOf(type.element)}[]`;
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${duckdbTypeOf(f.type)}`).join(', ')})`;
  }
}

/** Double-quoted SQL identifier (valid in DuckDB and in Athena DML). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export const toColumn = (f: LakeField): LakeColumn => ({
  name: f.name,
  glueType: glueTypeOf(f.type),
  duckdbType: duckdbTypeOf(f.type),
  comment: f.comment,
});

/** Every column of the `chats` table except the partition key, in storage order. */
export const CHAT_COLUMNS: readonly LakeColumn[] = CHAT_SCHEMA.map(toColumn);

/**
 * Partition keys. `dt` is a Glue `string` (the CDK code sets partition projection
 * type `date`, format `yyyy-MM-dd`), so SQL compares it with string literals:
 * `WHERE dt BETWEEN '2024-01-01' AND '2024-01-31'`. DuckDB reads it as VARCHAR too.
 */
export const PARTITION_KEYS: readonly LakeColumn[] = [
  {
    name: 'dt',
    glueType: 'string',
    duckdbType: 'VARCHAR',
    comment: 'Partition: chat day yyyy-MM-dd (the date the archiver listed the chat under)',
  },
];

export const LAKE_TABLE = 'chats';
export const CHATS_PREFIX = 'chats/';

/** `columns` argument for DuckDB `read_json(..., columns = {...})`: column name -> DuckDB type. */
export function duckdbColumnsStruct(schema: readonly LakeField[] = CHAT_SCHEMA): Record<string, string> {
  return Object.fromEntries(schema.map(toColumn).map((c) => [c.name, c.duckdbType]));
}

/**
 * DuckDB `json_transform` structure for one record, e.g. `{"type":"VARCHAR","group":["INTEGER"],...}`.
 */
export function duckdbJsonStructure(schema: readonly LakeField[] = CHAT_SCHEMA): string {
  const render = (type: LakeType): unknown => {
    switch (type.kind) {
      case 'array':
        return [render(type.element)];
      case 'struct':
        return Object.fromEntries(type.fields.map((f) => [f.name, render(f.type)]));
      default:
        return duckdbTypeOf(type);
    }
  };
  return JSON.stringify(render({ kind: 'struct', fields: schema }));
}

// ---------------------------------------------------------------------------------------------
// SerDe for the Glue table

/**
 * SerDe for the Glue table: the Hive JSON SerDe (`org.apache.hive.hcatalog.data.JsonSerDe`),
 * NOT the OpenX one. Facts behind the choice (Athena docs, Trino's hive-formats readers that
 * Athena engine v3 runs):
 *
 * - Both read one JSON document per line (our NDJSON; the writer must never pretty-print),
 *   both read gzip by the `.gz` extension, both ignore keys that are not table columns.
 * - Both match keys to columns case-insensitively (Hive lower-cases, OpenX `case.insensitive`
 *   defaults to true) and match by name, so the reserved words `group`, `date` and `timestamp`
 *   work as column/struct field names with no `mapping.*` property. They need quoting only in
 *   SQL: `"group"` in SELECTs, backticks in hand-written DDL (`group`, `date`, `timestamp`,
 *   and names starting with `_` such as `_run_id`). The Glue API takes the type strings as-is.
 * - Corruption: the Hive SerDe parses with strict Jackson, so a malformed line, a string where
 *   an int is declared, or an int overflow FAILS the query (there is no ignore option). OpenX
 *   is lenient even with `ignore.malformed.json` = false (its default): unparseable numbers
 *   become NULL, a line that does not start with `{` becomes an all-NULL row, and AWS
 *   documents that OpenX results "can be non-deterministic" (more/fewer rows, unexpected
 *   NULLs) and recommends the Hive SerDe as the workaround. We want corruption to be visible.
 *
 * If the CDK engineer must use OpenX anyway, use
 * `{ library: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'ignore.malformed.json': 'FALSE',
 * 'case.insensitive': 'TRUE', 'dots.in.keys': 'FALSE' } }` and accept the leniency above.
 */
export const JSON_SERDE = {
  library: 'org.apache.hive.hcatalog.data.JsonSerDe',
  parameters: {} as Readonly<Record<string, string>>,
} as const;

/** Storage formats for a gzip text (NDJSON) Glue table. */
export const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
export const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

// ---------------------------------------------------------------------------------------------
// Fields the table does not know

const RECORD_TYPE: LakeType = { kind: 'struct', fields: CHAT_SCHEMA };
const fieldsByName = new WeakMap<LakeType, ReadonlyMap<string, LakeType>>();
function knownFields(type: Extract<LakeType, { kind: 'struct' }>): ReadonlyMap<string, LakeType> {
  let known = fieldsByName.get(type);
  if (!known) {
    known = new Map(type.fields.map((f) => [f.name, f.type]));
    fieldsByName.set(type, known);
  }
  return known;
}

/**
 * Adds to `found` the path of every field of `chat` (at any depth) that is not a column, by
 * name only (`visitor.language`, `events[].message_json`); values are never reported. Such a
 * field is still written verbatim: Athena and the default DuckDB view ignore it, the strict
 * view refuses it, and the run reports it so the table can be extended.
 */
export function unknownFieldPaths(chat: unknown, found: Set<string> = new Set()): Set<string> {
  collectUnknown(chat, RECORD_TYPE, '', found);
  return found;
}

function collectUnknown(value: unknown, type: LakeType, path: string, found: Set<string>): void {
  if (value === null || typeof value !== 'object') return;
  if (type.kind === 'array') {
    if (!Array.isArray(value)) return;
    const itemPath = `${path}[]`;
    for (const item of value) collectUnknown(item, type.element, itemPath, found);
    return;
  }
  if (type.kind !== 'struct' || Array.isArray(value)) return;
  const known = knownFields(type);
  const record = value as Record<string, unknown>;
  // for…in, not Object.entries: this runs for every chat of every page (bench, section 3).
  for (const key in record) {
    const childType = known.get(key);
    if (childType === undefined) found.add(path ? `${path}.${key}` : key);
    else {
      const child = record[key];
      if (child !== null && typeof child === 'object')
        collectUnknown(child, childType, path ? `${path}.${key}` : key, found);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JS-side validator (same rules as the strict DuckDB view)

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Checks one parsed lake record (API chat + metadata) against CHAT_SCHEMA, with the same rules
 * as the strict DuckDB view: no unknown keys at any level, JSON types must match (ints must be
 * integral and in range), null/absent allowed except for required fields.
 * Returns human-readable violations; empty means the record is valid.
 */
export function findSchemaViolations(record: unknown, schema: readonly LakeField[] = CHAT_SCHEMA): string[] {
  const out: string[] = [];
  checkValue(record, { kind: 'struct', fields: schema }, '$', out);
  return out;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function checkValue(value: unknown, type: LakeType, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  switch (type.kind) {
    case 'string':
    case 'json':
      if (typeof value !== 'string') out.push(`${path}: expected string, got ${jsonKind(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(`${path}: expected boolean, got ${jsonKind(value)}`);
      return;
    case 'double':
      if (typeof value !== 'number') out.push(`${path}: expected double, got ${jsonKind(value)}`);
      return;
    case 'int':
    case 'bigint': {
      const isBigint = typeof value === 'bigint';
      if (typeof value !== 'number' && !isBigint) {
        out.push(`${path}: expected ${type.kind}, got ${jsonKind(value)}`);
        return;
      }
      const n = Number(value);
      const ok = isBigint || Number.isInteger(n);
      const inRange =
        type.kind === 'int'
          ? n >= INT32_MIN && n <= INT32_MAX
          : isBigint
            ? (value as bigint) >= -(2n ** 63n) && (value as bigint) < 2n ** 63n
            : Number.isSafeInteger(n);
      if (!ok) out.push(`${path}: expected ${type.kind}, got non-integral number ${String(value)}`);
      else if (!inRange) out.push(`${path}: ${type.kind} out of range: ${String(value)}`);
      return;
    }
    case 'array':
      if (!Array.isArray(value)) {
        out.push(`${path}: expected array, got ${jsonKind(value)}`);
        return;
      }
      value.forEach((item, i) => {
        checkValue(item, type.element, `${path}[${i}]`, out);
      });
      return;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        out.push(`${path}: expected object, got ${jsonKind(value)}`);
        return;
      }
      const obj = value as Record<string, unknown>;
      const known = new Set(type.fields.map((f) => f.name));
      const unknown = Object.keys(obj).filter((k) => !known.has(k));
      if (unknown.length > 0) out.push(`${path}: unknown field(s): ${unknown.join(', ')}`);
      for (const f of type.fields) {
        const v = obj[f.name];
        if (f.required && (v === null || v === undefined)) out.push(`${path}.${f.name}: required field missing`);
        else checkValue(v, f.type, `${path}.${f.name}`, out);
      }
      return;
    }
  }
}
