/**
 * Query a local copy of the chat lake (`<lakeDir>/chats/dt=YYYY-MM-DD/*.json.gz`) with DuckDB.
 * Plain module, no Lambda. The view `chats` has exactly the Athena view's columns
 * (CHAT_COLUMNS + `dt` + `month`), so NAMED_QUERIES rendered for DuckDB run against it unchanged; the view
 * `chat_threads` does the same for `<lakeDir>/archives/` (THREAD_SCHEMA + `dt` + `month`; no rows when a
 * lake has no raw v3.6 entries).
 *
 *   const lake = await openLocalLake('./lake');
 *   try { console.table(await lake.runNamed('chats_per_day')); } finally { await lake.close(); }
 *
 * By default the view reads like Athena does: explicit columns, fields it does not know are
 * ignored (fast: the named queries over 100 000 chats take well under 2 s, bench/RESULTS.md).
 *
 * Strict mode (`{ strict: true }`, used by the tests and the demo to keep writer and table in
 * step): the view reads every line as raw JSON and validates it against
 * CHAT_SCHEMA before typing it, so an unknown field (at any level), a JSON type that does not
 * match the declared column type (e.g. `"duration": "60"` or `1.5` for an int), an int out of
 * range, a missing required field (`id`, `_run_id`, `_archived_at`, `_page`), a non-object line
 * or a bad `dt=` directory makes the query FAIL with the file, chat id and JSON path.
 * DuckDB's plain `read_json(columns=...)` would silently drop unknown keys and cast "60" to 60.
 * Malformed JSON always fails. Validation costs extra JSON passes (about 1 s per 20k chats);
 * the default (`strict: false`) uses plain `read_json(columns = duckdbColumnsStruct())`: still explicit
 * columns and no inference, but unknown keys are dropped, castable values ("60") are cast, and
 * an uncastable value fails only a query that reads that column.
 *
 * Only the files a query reads are validated: `WHERE dt = '...'` prunes the other partitions.
 * A compacted month file (`compacted/<table>/month=yyyy-MM/`) is skipped by name only by a filter
 * on `month` (its hive partition), the column every view ends with; a `dt` filter alone opens
 * every month file's footer.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  CHAT_SCHEMA,
  CHATS_PREFIX,
  duckdbColumnsStruct,
  duckdbJsonStructure,
  LAKE_TABLE,
  type LakeField,
  type LakeType,
  PARTITION_KEYS,
  quoteIdent,
  toColumn,
} from './chat-columns.ts';
import { CHAT_FILE_COLUMNS, CHAT_FILES_PREFIX, CHAT_FILES_TABLE } from './chat-files-table.ts';
import { CHAT_FILE_KEY, CHAT_FILE_ORDER, MONTH_COLUMN } from './compacted-columns.ts';
import {
  DAY_PLAN_COLUMNS,
  DAY_PLAN_PARTITION,
  DAY_PLANS_PREFIX,
  DAY_PLANS_TABLE,
  type DayPlanColumn,
} from './day-plan-table.ts';
import { DROPPED_CHAT_COLUMNS, DROPPED_CHATS_PREFIX, DROPPED_CHATS_TABLE } from './dropped-chats-table.ts';
import { EXPIRED_DAY_COLUMNS, EXPIRED_DAYS_PREFIX, EXPIRED_DAYS_TABLE } from './expired-days-table.ts';
import { compactedTablePrefix } from './lake-layout.ts';
import { type DayWindow, NAMED_QUERIES } from './named-queries.ts';
import { DUCKDB } from './sql-dialect.ts';
import { ARCHIVES_PREFIX, THREAD_SCHEMA, THREADS_TABLE } from './thread-columns.ts';

/** A view over one table's files: `<root>/<prefix>dt=*\/*.json.gz`. */
interface LakeView {
  name: string;
  prefix: string;
  schema: readonly LakeField[];
}

/** `chats` (every source) and `chat_threads` (raw v3.6 entries; empty on a v2-only lake). */
const VIEWS: readonly LakeView[] = [
  { name: LAKE_TABLE, prefix: CHATS_PREFIX, schema: CHAT_SCHEMA },
  { name: THREADS_TABLE, prefix: ARCHIVES_PREFIX, schema: THREAD_SCHEMA },
];

export interface LocalLake {
  /** Runs SQL against the in-memory DuckDB that has the `chats` view. BIGINT/HUGEINT values are
   * returned as numbers when they are safe integers, otherwise as decimal strings. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs a named query's DuckDB text over `days` (default: the last 30 days, as in Athena). */
  runNamed(name: string, days?: DayWindow): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface OpenLocalLakeOptions {
  /** Validate every record against CHAT_SCHEMA, failing on unknown fields or wrong types (default false). */
  strict?: boolean;
}

/** Thrown when the lake directory is missing or holds no `chats/dt=*\/*.json.gz` file. */
export class EmptyLakeError extends Error {
  override name = 'EmptyLakeError';
}

export async function openLocalLake(lakeDir: string, options: OpenLocalLakeOptions = {}): Promise<LocalLake> {
  const strict = options.strict ?? false;
  const root = path.resolve(lakeDir);
  if (
    listLakeFiles(root, CHATS_PREFIX).length === 0 &&
    listLakeFiles(root, compactedTablePrefix(CHATS_PREFIX), PARQUET).length === 0 &&
    listLakeFiles(root, compactedTablePrefix(CHATS_PREFIX), PARQUET, MONTH).length === 0
  ) {
    throw new EmptyLakeError(
      `No chat files in lake ${root}: expected ${path.join(root, CHATS_PREFIX, 'dt=YYYY-MM-DD', 'page-00001.json.gz')}`,
    );
  }

  const instance = await DuckDBInstance.create(':memory:');
  let connection: DuckDBConnection | undefined;
  try {
    connection = await instance.connect();
    for (const view of VIEWS) {
      await connection.run(createViewSql(root, strict, view));
      await connection.run(createJsonViewSql(root, strict, view));
    }
    await connection.run(createManifestViewSql(root, DAY_PLANS_TABLE, DAY_PLANS_PREFIX, DAY_PLAN_COLUMNS));
    await connection.run(createManifestViewSql(root, DROPPED_CHATS_TABLE, DROPPED_CHATS_PREFIX, DROPPED_CHAT_COLUMNS));
    await connection.run(createManifestViewSql(root, EXPIRED_DAYS_TABLE, EXPIRED_DAYS_PREFIX, EXPIRED_DAY_COLUMNS));
    await connection.run(createChatFilesViewSql(root));
  } catch (err) {
    connection?.closeSync();
    instance.closeSync();
    throw err;
  }
  const conn = connection;
  let closed = false;

  const query = async <T = Record<string, unknown>>(sql: string): Promise<T[]> => {
    if (closed) throw new Error('LocalLake is closed');
    let reader;
    try {
      reader = await conn.runAndReadAll(sql);
    } catch (err) {
      if (err instanceof Error && /No files found that match the pattern/i.test(err.message)) {
        throw new EmptyLakeError(`No chat files left in lake ${root}: ${err.message}`);
      }
      throw err;
    }
    return reader.getRowObjectsJS().map((row) => toPlain(row) as T);
  };

  return {
    query,
    async runNamed(name: string, days?: DayWindow) {
      const named = NAMED_QUERIES.find((q) => q.name === name);
      if (!named) {
        throw new Error(`Unknown named query '${name}'. Known: ${NAMED_QUERIES.map((q) => q.name).join(', ')}`);
      }
      return query(named.render(DUCKDB, days));
    },
    async close() {
      if (closed) return;
      closed = true;
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** The days the compacted month files of `chats` hold (their `dt` column), sorted: a day has no folder of its own there. */
export async function daysInMonthFiles(lakeDir: string): Promise<string[]> {
  const root = path.resolve(lakeDir);
  const prefix = compactedTablePrefix(CHATS_PREFIX);
  const files = existsSync(path.join(root, prefix)) ? listLakeFiles(root, prefix, PARQUET, MONTH) : [];
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(
      `SELECT DISTINCT ${DT} FROM read_parquet([${files.map((f) => sqlString(toPosix(f))).join(', ')}]) ORDER BY 1`,
    );
    return (reader.getColumnsJS()[0] ?? []).map(String);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

// ---------------------------------------------------------------------------------------------
// Files

const JSON_GZ = '.json.gz';
const PARQUET = '.parquet';
/** The partition of compacted month files: `month=yyyy-MM` (the views' `month` column). */
const MONTH = MONTH_COLUMN.name;

/** `<root>/<prefix><partition>=*\/*<extension>`, sorted (partition `dt`, or `month` for compacted months). */
function listLakeFiles(root: string, prefix: string, extension = JSON_GZ, partition = 'dt'): string[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new EmptyLakeError(`Lake directory not found: ${root}`);
  }
  const chatsDir = path.join(root, prefix);
  if (!existsSync(chatsDir)) return [];
  const files: string[] = [];
  for (const part of readdirSync(chatsDir, { withFileTypes: true })) {
    if (!part.isDirectory() || !part.name.startsWith(`${partition}=`)) continue;
    for (const f of readdirSync(path.join(chatsDir, part.name), { withFileTypes: true })) {
      if (f.isFile() && f.name.endsWith(extension)) files.push(path.join(chatsDir, part.name, f.name));
    }
  }
  return files.sort();
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/** SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * The files argument of read_json*: the glob (so files written after opening are seen), or,
 * when the lake path itself contains glob metacharacters, the explicit list found at open time.
 */
function filesArgument(
  root: string,
  files: readonly string[],
  prefix: string,
  extension = JSON_GZ,
  partition = 'dt',
): string {
  const glob = `${toPosix(root)}/${prefix}${partition}=*/*${extension}`;
  if (!/[*?[\]{}]/.test(root)) return sqlString(glob);
  return `[${files.map((f) => sqlString(toPosix(f))).join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------
// Day plans

/**
 * A view with a manifest table's Glue columns over `<prefix>dt=*\/*.json`: `day_plans`
 * (`manifests/day-plans/`), `dropped_chats` (`manifests/dropped-chats/`), `expired_days`
 * (`manifests/expired-days/`) and `chat_files` (`chat-files/`). The files found at
 * open time; an empty view when the lake has none (e.g. written before runs recorded them).
 */
function createManifestViewSql(
  root: string,
  table: string,
  prefix: string,
  tableColumns: readonly DayPlanColumn[],
): string {
  const dir = path.join(root, prefix);
  const files = existsSync(dir)
    ? readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter(
          (entry) =>
            entry.isFile() && entry.name.endsWith('.json') && path.basename(entry.parentPath).startsWith('dt='),
        )
        .map((entry) => path.join(entry.parentPath, entry.name))
        .sort()
    : [];
  const select = tableColumns.map(
    (c) => `CAST(${files.length ? quoteIdent(c.key) : 'NULL'} AS ${c.duckdbType}) AS ${quoteIdent(c.name)}`,
  );
  if (files.length === 0) {
    return `CREATE OR REPLACE VIEW ${table} AS
SELECT ${select.join(', ')}, CAST(NULL AS VARCHAR) AS ${DAY_PLAN_PARTITION.name} WHERE false`;
  }
  const columns = `{${tableColumns.map((c) => `${sqlString(c.key)}: ${sqlString(c.duckdbType)}`).join(', ')}}`;
  const source = `[${files.map((f) => sqlString(toPosix(f))).join(', ')}]`;
  return `CREATE OR REPLACE VIEW ${table} AS
SELECT ${select.join(', ')}, ${DAY_PLAN_PARTITION.name}
FROM read_json(${source}, format = 'newline_delimited', hive_partitioning = true,
  hive_types = {${sqlString(DAY_PLAN_PARTITION.name)}: 'VARCHAR'}, columns = ${columns})`;
}

/**
 * `chat_files`: its JSON rows (`chat-files/dt=*\/*.json`) and its compacted days and months
 * (`compacted/chat-files/…`, compaction.ts), the row each file keeps (CHAT_FILE_ORDER): a file
 * re-archived after its day was compacted (a new JSON row beside the compacted one), or a
 * compaction interrupted before its deletes, is one row.
 */
function createChatFilesViewSql(root: string): string {
  const json = createManifestViewSql(root, CHAT_FILES_TABLE, CHAT_FILES_PREFIX, CHAT_FILE_COLUMNS);
  const compacted = compactedTablePrefix(CHAT_FILES_PREFIX);
  const dayFiles = listLakeFiles(root, compacted, PARQUET);
  const monthFiles = listLakeFiles(root, compacted, PARQUET, MONTH);
  const jsonSide = json.replace(/^CREATE OR REPLACE VIEW \S+ AS\n/, '');
  const month = quoteIdent(MONTH_COLUMN.name);
  const columns = [...CHAT_FILE_COLUMNS.map((c) => quoteIdent(c.name)), DT].join(', ');
  if (dayFiles.length + monthFiles.length === 0 && / WHERE false$/.test(jsonSide)) {
    return `CREATE OR REPLACE VIEW ${CHAT_FILES_TABLE} AS SELECT *, CAST(NULL AS VARCHAR) AS ${month} FROM (${jsonSide})`;
  }
  // As the views chats and chat_threads: `month` last, the month files' partition (a filter on it skips them by name).
  const sides = [
    ...(/ WHERE false$/.test(jsonSide) ? [] : [withMonthOfDt(jsonSide)]),
    ...(dayFiles.length
      ? [
          `SELECT ${columns}, ${MONTH_OF_DT} FROM read_parquet(${filesArgument(root, dayFiles, compacted, PARQUET)}, hive_partitioning = true, hive_types = {${sqlString(DT)}: 'VARCHAR'})`,
        ]
      : []),
    ...(monthFiles.length
      ? [
          `SELECT ${columns}, ${month} FROM read_parquet(${filesArgument(root, monthFiles, compacted, PARQUET, MONTH)}, hive_partitioning = true, hive_types = {${sqlString(MONTH)}: 'VARCHAR'})`,
        ]
      : []),
  ];
  const [dt, ...key] = CHAT_FILE_KEY;
  return `CREATE OR REPLACE VIEW ${CHAT_FILES_TABLE} AS
SELECT ${columns}, ${month} FROM (
  SELECT *, row_number() OVER (PARTITION BY ${[dt, month, ...key].join(', ')} ORDER BY ${CHAT_FILE_ORDER}) AS file_rank
  FROM (
${sides.join('\nUNION ALL\n')}
  )
) WHERE file_rank = 1`;
}

// ---------------------------------------------------------------------------------------------
// View

const DT = PARTITION_KEYS[0]!.name;

/** A table with no files yet (e.g. chat_threads in a v2 lake): its columns, no rows. */
function emptyViewSql(view: LakeView, withMonth = true): string {
  const columns = [...view.schema.map(toColumn), ...PARTITION_KEYS, ...(withMonth ? [MONTH_COLUMN] : [])].map(
    (c) => `CAST(NULL AS ${c.duckdbType}) AS ${quoteIdent(c.name)}`,
  );
  return `CREATE OR REPLACE VIEW ${view.name} AS SELECT ${columns.join(', ')} WHERE false`;
}

/**
 * A table's view: its JSON files (days not compacted yet, and re-archives of compacted days) and
 * its compacted Parquet files (`compacted/<prefix>dt=*\/*.parquet`), each side only when it has
 * files. A chat in both (a re-archive not compacted yet, or a compaction interrupted before its
 * deletes) is a row in each, as re-archived copies are: the named queries keep the latest copy.
 * Every side ends with `dt` and `month` (the month files' partition, `substr(dt, 1, 7)` elsewhere).
 */
function createViewSql(root: string, strict: boolean, view: LakeView): string {
  const jsonFiles = listLakeFiles(root, view.prefix);
  const compactedPrefix = compactedTablePrefix(view.prefix);
  const parquetFiles = listLakeFiles(root, compactedPrefix, PARQUET);
  const monthFiles = listLakeFiles(root, compactedPrefix, PARQUET, MONTH);
  const sides = [
    ...(jsonFiles.length ? [withMonthOfDt(jsonSelectSql(root, jsonFiles, strict, view))] : []),
    ...(parquetFiles.length ? [parquetSelectSql(root, parquetFiles, compactedPrefix, view)] : []),
    ...(monthFiles.length ? [monthSelectSql(root, monthFiles, compactedPrefix, view)] : []),
  ];
  if (sides.length === 0) return emptyViewSql(view);
  return `CREATE OR REPLACE VIEW ${view.name} AS\n${sides.join('\nUNION ALL\n')}`;
}

/**
 * `<view>_json` (`chats_json`, `chat_threads_json`): the JSON side of the view alone, as the Glue
 * table of that name on AWS (named queries use it to tell a re-archived copy of a compacted day).
 */
function createJsonViewSql(root: string, strict: boolean, view: LakeView): string {
  const jsonFiles = listLakeFiles(root, view.prefix);
  const json = { ...view, name: `${view.name}_json` };
  if (jsonFiles.length === 0) return emptyViewSql(json, false);
  return `CREATE OR REPLACE VIEW ${json.name} AS\n${jsonSelectSql(root, jsonFiles, strict, view)}`;
}

/** `month` of a side partitioned by `dt`: `substr(dt, 1, 7)` (DuckDB turns a filter on it into a file filter on `dt`). */
const MONTH_OF_DT = `substr(${DT}, 1, 7) AS ${quoteIdent(MONTH_COLUMN.name)}`;

/** A side whose last column is `dt`, with `month` after it. */
function withMonthOfDt(select: string): string {
  return `SELECT *, ${MONTH_OF_DT} FROM (${select})`;
}

/** The compacted days: the same columns, read by name from the Parquet files (the raw line is not a column of the view). */
function parquetSelectSql(root: string, files: readonly string[], prefix: string, view: LakeView): string {
  const source = filesArgument(root, files, prefix, PARQUET);
  const hiveTypes = `{${PARTITION_KEYS.map((k) => `${sqlString(k.name)}: ${sqlString(k.duckdbType)}`).join(', ')}}`;
  const select = [...view.schema.map(toColumn), ...PARTITION_KEYS].map((c) => quoteIdent(c.name)).join(', ');
  return `SELECT ${select}, ${MONTH_OF_DT}
FROM read_parquet(${source}, hive_partitioning = true, hive_types = ${hiveTypes})`;
}

/**
 * The compacted months (`compacted/<prefix>month=*\/*.parquet`): small days, a month per file, each
 * row's day in its `dt` column, `month` the hive partition. A filter on `month` skips the other
 * months' files by name; a `dt` filter alone opens each month file's footer (DuckDB and Athena)
 * and skips the row groups whose `dt` range is outside it.
 */
function monthSelectSql(root: string, files: readonly string[], prefix: string, view: LakeView): string {
  const source = filesArgument(root, files, prefix, PARQUET, MONTH);
  const select = [...view.schema.map(toColumn), ...PARTITION_KEYS, MONTH_COLUMN]
    .map((c) => quoteIdent(c.name))
    .join(', ');
  return `SELECT ${select}
FROM read_parquet(${source}, hive_partitioning = true, hive_types = {${sqlString(MONTH)}: ${sqlString(MONTH_COLUMN.duckdbType)}})`;
}

function jsonSelectSql(root: string, files: readonly string[], strict: boolean, view: LakeView): string {
  const source = filesArgument(root, files, view.prefix);
  const columnsOfView = view.schema.map(toColumn);
  const hiveTypes = `{${PARTITION_KEYS.map((k) => `${sqlString(k.name)}: ${sqlString(k.duckdbType)}`).join(', ')}}`;
  // compression is explicit: DuckDB's detection by extension fails when the path has glob characters.
  const readerOptions = `format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = ${hiveTypes}`;

  if (!strict) {
    const columns = `{${Object.entries(duckdbColumnsStruct(view.schema))
      .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
      .join(', ')}}`;
    const select = [...columnsOfView, ...PARTITION_KEYS].map((c) => quoteIdent(c.name)).join(', ');
    return `SELECT ${select}
FROM read_json(${source}, ${readerOptions}, columns = ${columns})`;
  }

  const paths = view.schema.map((f) => sqlString(`$.${quoteIdent(f.name)}`)).join(', ');
  const topLevelChecks = structChecks(view.schema, (i) => `__f[${i + 1}]`, 'doc', '$', 0);
  const dtCheck = `CASE WHEN NOT coalesce(regexp_full_match(${DT}, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND TRY_CAST(${DT} AS DATE) IS NOT NULL, false)
      THEN 'partition directory ${DT}=' || coalesce(${DT}, 'NULL') || ' is not yyyy-MM-dd' END`;
  const violation = `coalesce(
      CASE WHEN json_type(doc) IS DISTINCT FROM 'OBJECT' THEN '$: expected a JSON object per line, got ' || coalesce(json_type(doc), 'nothing') END,
      ${dtCheck},
      ${topLevelChecks.join(',\n      ')})`;
  const failure = `error('${view.name} schema violation in ' || __file || ' (chat id ' || coalesce(json_extract_string(doc, '$.id'), '?') || '): ' || __violation)`;
  const select = columnsOfView.map((c) => `__r.${quoteIdent(c.name)} AS ${quoteIdent(c.name)}`).join(',\n  ');

  return `SELECT * FROM (
WITH __raw AS (
  SELECT json AS doc, filename AS __file, ${DT}
  FROM read_json_objects(${source}, ${readerOptions}, filename = true)
),
__fields AS (
  SELECT doc, __file, ${DT}, json_extract(doc, [${paths}]) AS __f FROM __raw
),
__checked AS (
  SELECT doc, __file, ${DT}, ${violation} AS __violation
  FROM __fields
),
__valid AS (
  -- The error is raised both in the filter (so count(*) sees it) and in the projection
  -- (so it cannot be skipped when an outer predicate is evaluated first).
  SELECT CASE WHEN __violation IS NULL THEN json_transform(doc, ${sqlString(duckdbJsonStructure(view.schema))}) ELSE ${failure} END AS __r,
         ${DT}
  FROM __checked
  WHERE CASE WHEN __violation IS NULL THEN true ELSE ${failure} END
)
SELECT
  ${select},
  ${DT}
FROM __valid)`;
}

/**
 * SQL expressions (VARCHAR, NULL when fine) checking a JSON object `obj` against `fields`:
 * unknown keys, required fields, then each field's value.
 */
function structChecks(
  fields: readonly LakeField[],
  access: (index: number, field: LakeField) => string,
  obj: string,
  at: string,
  depth: number,
): string[] {
  const k = `__k${depth}`;
  const known = fields.map((f) => sqlString(f.name)).join(', ');
  const unknownKeys = `list_filter(json_keys(${obj}), lambda ${k}: ${k} NOT IN (${known}))`;
  const checks = [
    `CASE WHEN len(${unknownKeys}) > 0 THEN ${sqlString(`${at}: unknown field(s): `)} || array_to_string(${unknownKeys}, ', ') END`,
  ];
  fields.forEach((f, i) => {
    const value = access(i, f);
    const p = `${at}.${f.name}`;
    if (f.required) {
      checks.push(
        `CASE WHEN coalesce(json_type(${value}), 'NULL') = 'NULL' THEN ${sqlString(`${p}: required field missing`)} END`,
      );
    }
    checks.push(valueCheck(value, f.type, p, depth));
  });
  return checks;
}

/** SQL expression (VARCHAR, NULL when fine) checking JSON value `v` against `type`. */
function valueCheck(v: string, type: LakeType, at: string, depth: number): string {
  const got = (expected: string) => `${sqlString(`${at}: expected ${expected}, got `)} || json_type(${v})`;
  switch (type.kind) {
    case 'string':
    case 'json':
      return `CASE WHEN json_type(${v}) NOT IN ('VARCHAR', 'NULL') THEN ${got('string')} END`;
    case 'boolean':
      return `CASE WHEN json_type(${v}) NOT IN ('BOOLEAN', 'NULL') THEN ${got('boolean')} END`;
    case 'double':
      return `CASE WHEN json_type(${v}) NOT IN ('DOUBLE', 'BIGINT', 'UBIGINT', 'NULL') THEN ${got('double')} END`;
    case 'int':
    case 'bigint': {
      const sqlType = type.kind === 'int' ? 'INTEGER' : 'BIGINT';
      return `CASE WHEN json_type(${v}) NOT IN ('BIGINT', 'UBIGINT', 'NULL') THEN ${got(type.kind)}
        WHEN json_type(${v}) <> 'NULL' AND TRY_CAST(CAST(${v} AS VARCHAR) AS ${sqlType}) IS NULL
        THEN ${sqlString(`${at}: ${type.kind} out of range: `)} || CAST(${v} AS VARCHAR) END`;
    }
    case 'array': {
      const x = `__x${depth + 1}`;
      const m = `__m${depth + 1}`;
      const element = valueCheck(x, type.element, `${at}[]`, depth + 1);
      return `CASE WHEN json_type(${v}) NOT IN ('ARRAY', 'NULL') THEN ${got('array')}
        WHEN json_type(${v}) = 'ARRAY'
        THEN list_filter(list_transform(TRY_CAST(${v} AS JSON[]), lambda ${x}: ${element}), lambda ${m}: ${m} IS NOT NULL)[1] END`;
    }
    case 'struct': {
      const inner = structChecks(
        type.fields,
        (_i, f) => `json_extract(${v}, ${sqlString(`$.${quoteIdent(f.name)}`)})`,
        v,
        at,
        depth + 1,
      );
      return `CASE WHEN json_type(${v}) NOT IN ('OBJECT', 'NULL') THEN ${got('object')}
        WHEN json_type(${v}) = 'OBJECT' THEN coalesce(${inner.join(', ')}) END`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Result conversion

/** BigInt -> number when safe, else decimal string; recurses into arrays and plain objects. */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}
