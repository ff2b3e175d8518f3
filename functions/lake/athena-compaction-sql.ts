/**
 * The Athena side of compaction (docs/compaction.md): for each chat table,
 *
 * - `<table>_json`: the JSON files (`chats/dt=…/`; Hive JSON SerDe), as the table was before;
 * - `<table>_json_lines`: the same files, one string column `line` per stored line (a text
 *   table whose field delimiter, U+0001, never occurs in a JSON line: JSON escapes it), so a
 *   compaction can keep each row's stored line (`_raw_json`) beside its typed columns;
 * - `<table>_compacted`: the compacted days (`compacted/chats/dt=…/*.parquet`; Parquet SerDe),
 *   the table's columns plus `_raw_json`;
 * - `<table>_compacted_months`: the compacted months (`compacted/chats/month=…/*.parquet`, small
 *   days, a month per file), the same columns, `_raw_json` and `dt` as a column, partition `month`;
 * - the view `<table>` (`chats`, `chat_threads`): the JSON table `UNION ALL` the compacted ones,
 *   same columns and `month`, so every query and saved query keeps its table name.
 *
 * `chat_files` (CHAT_FILES_TIER) has the same four tables; its JSON files are one plain JSON object
 * per file reference, and its view keeps the row each file keeps (CHAT_FILE_ORDER), as the UNLOADs do.
 *
 * A day is compacted with UNLOAD (Parquet, ZSTD) into a staging prefix no table reads, then
 * moved into place by the compactor (functions/pipeline/athena-compaction.ts).
 */
import { CHAT_SCHEMA, LAKE_TABLE, type LakeField, type LakeType, PARTITION_KEYS, quoteIdent } from './chat-columns.ts';
import { CHAT_FILES_TABLE } from './chat-files-table.ts';
import {
  CHAT_FILE_KEY,
  CHAT_FILE_ORDER,
  CHAT_FILE_SCHEMA,
  MONTH_COLUMN,
  RAW_JSON_COLUMN,
} from './compacted-columns.ts';
import { ARCHIVES_PREFIX, CHAT_FILES_PREFIX, CHATS_PREFIX } from './lake-layout.ts';
import { THREAD_SCHEMA, THREADS_TABLE } from './thread-columns.ts';

/** UNLOAD writes here (never read by a table): `compaction-staging/chats/dt=…/<token>/`. */
export const COMPACTION_STAGING_PREFIX = 'compaction-staging/';

export function stagingPrefix(table: string, day: string, token: string): string {
  return `${stagingDayPrefix(table, day)}${token}/`;
}

/** Everything staged for one day (or month, `yyyy-MM`) of a table, by any attempt. */
export function stagingDayPrefix(table: string, unit: string): string {
  const partition = /^\d{4}-\d{2}$/.test(unit) ? 'month' : 'dt';
  return `${COMPACTION_STAGING_PREFIX}${table}${partition}=${unit}/`;
}

/** One chat table as Athena sees it. */
export interface CompactedTable {
  /** The lake prefix of its JSON files: `chats/`, `archives/`. */
  prefix: string;
  /** The view users query: `chats`, `chat_threads`. */
  view: string;
  jsonTable: string;
  linesTable: string;
  compactedTable: string;
  /** The compacted months: partition `month`, the row's day a `dt` column. */
  compactedMonthsTable: string;
  schema: readonly LakeField[];
  /** The latest-copy key of a row (as the named queries partition it): `id`, `thread.id`. */
  copyKey: string;
  /**
   * `chat_files`: one uncompressed JSON object per file (its stored line joined by file alone), a
   * row per file kept by CHAT_FILE_KEY / CHAT_FILE_ORDER, in the UNLOADs and in the view.
   */
  fileRows?: boolean;
}

const table = (prefix: string, view: string, schema: readonly LakeField[], copyKey: string): CompactedTable => ({
  prefix,
  view,
  jsonTable: `${view}_json`,
  linesTable: `${view}_json_lines`,
  compactedTable: `${view}_compacted`,
  compactedMonthsTable: `${view}_compacted_months`,
  schema,
  copyKey,
});

export const COMPACTED_TABLES: readonly CompactedTable[] = [
  table(CHATS_PREFIX, LAKE_TABLE, CHAT_SCHEMA, 'id'),
  table(ARCHIVES_PREFIX, THREADS_TABLE, THREAD_SCHEMA, 'thread.id'),
];

/** `chat_files` (attachments on): compacted with its day's chats, into the same unit (day or month). */
export const CHAT_FILES_TIER: CompactedTable = {
  ...table(CHAT_FILES_PREFIX, CHAT_FILES_TABLE, CHAT_FILE_SCHEMA, 'coalesce(thread_id, chat_id)'),
  fileRows: true,
};

/** The copy a unit keeps: `row_number()` over the copy key (and `dt` in a month), newest first. */
function copyRankSql(t: CompactedTable, withDt: boolean): string {
  if (t.fileRows) {
    const key = withDt ? CHAT_FILE_KEY : CHAT_FILE_KEY.filter((column) => column !== DT);
    return `row_number() OVER (
             PARTITION BY ${key.join(', ')}
             ORDER BY ${CHAT_FILE_ORDER}
           )`;
  }
  return `row_number() OVER (
             PARTITION BY ${withDt ? `u.${DT}, ` : ''}u.${t.copyKey}
             ORDER BY u."_archived_at" DESC, u."_run_id" DESC, u."_page" DESC
           )`;
}

/** The Trino (Athena engine v3) type of a lake type, as a view's column type: `array(row("id" integer))`. */
export function trinoTypeOf(type: LakeType): string {
  switch (type.kind) {
    case 'string':
    case 'json':
      return 'varchar';
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'double':
      return 'double';
    case 'array':
      return `array(${trinoTypeOf(type.element)})`;
    case 'struct':
      return `row(${type.fields.map((f) => `${quoteIdent(f.name)} ${trinoTypeOf(f.type)}`).join(', ')})`;
  }
}

const columnList = (schema: readonly LakeField[], alias?: string) =>
  schema.map((f) => (alias ? `${alias}.${quoteIdent(f.name)}` : quoteIdent(f.name))).join(', ');

const qualified = (database: string, name: string) => `${quoteIdent(database)}.${quoteIdent(name)}`;

const DT = PARTITION_KEYS[0]!.name;

/** The partition of the compacted months table: `month=yyyy-MM`, the views' `month` column. */
export const MONTH_PARTITION = MONTH_COLUMN.name;

/**
 * The view's text: the JSON days, the compacted days and the compacted months, same columns, `dt`
 * then `month` last. `dt` is a partition of the first two tables and a column of the months
 * table; `month` is the months table's partition key itself (not an expression of it), so a
 * filter on the view's `month` reaches that table as a predicate on its projected partition and
 * Athena lists and opens only those months' files; a filter on `dt` alone opens every month
 * file's footer. The other two tables derive it from `dt` (`substr(dt, 1, 7)`).
 */
export function viewSql(database: string, t: CompactedTable): string {
  const columns = `${columnList(t.schema)}, ${quoteIdent(DT)}`;
  const monthOfDt = `substr(${quoteIdent(DT)}, 1, 7) AS ${quoteIdent(MONTH_PARTITION)}`;
  // The three tables, one SELECT each, the lines joined at the indent the view puts them.
  const union = (indent: string) =>
    [
      `SELECT ${columns}, ${monthOfDt}`,
      `FROM ${qualified(database, t.jsonTable)}`,
      'UNION ALL',
      `SELECT ${columns}, ${monthOfDt}`,
      `FROM ${qualified(database, t.compactedTable)}`,
      'UNION ALL',
      `SELECT ${columns}, ${quoteIdent(MONTH_PARTITION)}`,
      `FROM ${qualified(database, t.compactedMonthsTable)}`,
    ].join(`\n${indent}`);
  if (!t.fileRows) return union('');
  // One row per file. dt and month (a function of dt) are partition columns of the window, so
  // Trino pushes a filter on either below it, and a month filter reaches the months table's partition.
  const all = `${columns}, ${quoteIdent(MONTH_PARTITION)}`;
  const [dt, ...key] = CHAT_FILE_KEY;
  return `SELECT ${all}
FROM (
  SELECT ${all}, row_number() OVER (
           PARTITION BY ${[dt, quoteIdent(MONTH_PARTITION), ...key].join(', ')}
           ORDER BY ${CHAT_FILE_ORDER}
         ) AS file_rank
  FROM (
    ${union('    ')}
  ) u
) ranked
WHERE file_rank = 1`;
}

/** The view's columns with their Trino types, as a Presto view definition lists them. */
export function viewColumns(t: CompactedTable): { name: string; type: string }[] {
  return [
    ...t.schema.map((f) => ({ name: f.name, type: trinoTypeOf(f.type) })),
    ...[...PARTITION_KEYS, MONTH_COLUMN].map((k) => ({ name: k.name, type: 'varchar' })),
  ];
}

/** `yyyy-MM-dd`, checked: the day goes into SQL text. */
function checkedDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`not a day: ${day}`);
  return day;
}

/** `yyyy-MM`, checked: the month goes into SQL text. */
function checkedMonth(month: string): string {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new Error(`not a month: ${month}`);
  return month;
}

function checkedLocation(location: string): string {
  if (!/^s3:\/\/[a-z0-9.-]+\/[A-Za-z0-9=/._-]+\/$/.test(location)) throw new Error(`not an S3 folder: ${location}`);
  return location;
}

/**
 * The JSON rows of the days `dt <onDays>` selects (`= 'yyyy-MM-dd'`, `IN (…)`) with their stored
 * lines (joined by file and version from the lines table): every column and `_raw_json`, and `dt`
 * when `withDt`.
 */
function jsonRowsSql(database: string, t: CompactedTable, onDays: string, withDt: boolean): string {
  const raw = quoteIdent(RAW_JSON_COLUMN);
  if (t.fileRows) {
    // One object per file: its line is the file's.
    return `SELECT ${columnList(t.schema, 'j')}, l.line AS ${raw}${withDt ? `, j.${DT}` : ''}
      FROM ${qualified(database, t.jsonTable)} j
      JOIN (
        SELECT "$path" AS file, line
        FROM ${qualified(database, t.linesTable)}
        WHERE ${DT} ${onDays}
      ) l
        ON l.file = j."$path"
      WHERE j.${DT} ${onDays}`;
  }
  const idPath = t.copyKey === 'id' ? '$.id' : '$.thread.id';
  return `SELECT ${columnList(t.schema, 'j')}, l.line AS ${raw}${withDt ? `, j.${DT}` : ''}
      FROM ${qualified(database, t.jsonTable)} j
      JOIN (
        SELECT "$path" AS file,
               line,
               json_extract_scalar(line, '${idPath}') AS copy_id,
               json_extract_scalar(line, '$._archived_at') AS archived_at,
               json_extract_scalar(line, '$._run_id') AS run_id
        FROM ${qualified(database, t.linesTable)}
        WHERE ${DT} ${onDays}
      ) l
        ON l.file = j."$path" AND l.copy_id = j.${t.copyKey} AND l.archived_at = j."_archived_at" AND l.run_id = j."_run_id"
      WHERE j.${DT} ${onDays}`;
}

/**
 * UNLOAD of one month of one table (small days, docs/compaction.md): the latest copy of each row
 * per day (as the named queries choose it), among the JSON rows of `days` (the month's days
 * compacted now), the compacted day files of those days and the month's compacted file(s), with
 * every column, `_raw_json` and `dt`, ordered by day (tight `dt` ranges per row group), as
 * Parquet (ZSTD) under `location`. Days before `keepFrom` (retention) are left out.
 */
export function unloadMonthSql(
  database: string,
  t: CompactedTable,
  month: string,
  days: readonly string[],
  location: string,
  keepFrom?: string,
): string {
  const m = checkedMonth(month);
  const inMonth = days.map(checkedDay).filter((day) => day.startsWith(`${m}-`));
  const dayList = inMonth.length ? inMonth.map((day) => `'${day}'`).join(', ') : 'NULL';
  const raw = quoteIdent(RAW_JSON_COLUMN);
  const kept = keepFrom ? `\n    AND ${DT} >= '${checkedDay(keepFrom)}'` : '';
  return `UNLOAD (
  SELECT ${columnList(t.schema)}, ${raw}, ${quoteIdent(DT)}
  FROM (
    SELECT u.*,
           ${copyRankSql(t, true)} AS copy_rank
    FROM (
      ${jsonRowsSql(database, t, `IN (${dayList})`, true)}
      UNION ALL
      SELECT ${columnList(t.schema, 'c')}, c.${raw}, c.${DT}
      FROM ${qualified(database, t.compactedTable)} c
      WHERE c.${DT} IN (${dayList})
      UNION ALL
      SELECT ${columnList(t.schema, 'm')}, m.${raw}, m.${DT}
      FROM ${qualified(database, t.compactedMonthsTable)} m
      WHERE m.${MONTH_PARTITION} = '${m}'
    ) u
  ) ranked
  WHERE copy_rank = 1${kept}
  ORDER BY ${DT}
) TO '${checkedLocation(location)}'
WITH (format = 'PARQUET', compression = 'ZSTD')`;
}

/**
 * UNLOAD of one day of one table: the latest copy of each row (as the named queries choose it:
 * greatest `_archived_at`, then `_run_id`, then `_page`) among the day's JSON rows and its
 * compacted rows, with every column and `_raw_json` (a JSON row's stored line, joined by file and
 * version from the lines table), as Parquet (ZSTD) under `location` (an empty S3 prefix).
 */
export function unloadDaySql(database: string, t: CompactedTable, day: string, location: string): string {
  const d = checkedDay(day);
  const raw = quoteIdent(RAW_JSON_COLUMN);
  return `UNLOAD (
  SELECT ${columnList(t.schema)}, ${raw}
  FROM (
    SELECT u.*,
           ${copyRankSql(t, false)} AS copy_rank
    FROM (
      ${jsonRowsSql(database, t, `= '${d}'`, false)}
      UNION ALL
      SELECT ${columnList(t.schema, 'c')}, c.${raw}
      FROM ${qualified(database, t.compactedTable)} c
      WHERE c.${DT} = '${d}'
    ) u
  ) ranked
  WHERE copy_rank = 1
) TO '${checkedLocation(location)}'
WITH (format = 'PARQUET', compression = 'ZSTD')`;
}
