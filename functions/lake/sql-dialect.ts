/**
 * The few places where Athena (engine v3, Trino) and DuckDB spell the same thing differently.
 * Named queries are written once against this interface, so the two texts cannot drift.
 *
 * Lambdas are `x -> body` in Trino and `lambda x: body` in DuckDB; an array of structs is unnested
 * as one column per field in Trino but as one struct column in DuckDB; percentiles are
 * `approx_percentile` (approximate, returns an observed value) in Athena and `quantile_cont`
 * (exact, interpolated) in DuckDB, so those columns can differ slightly.
 */
export interface SqlDialect {
  readonly engine: 'athena' | 'duckdb';
  /** Elements of `list` for which `body` (over `x`) is true. */
  filter(list: string, x: string, body: string): string;
  /** `body` (over `x`) for each element of `list`. */
  transform(list: string, x: string, body: string): string;
  /**
   * The engine's own list minimum. NULL semantics differ: Trino's `array_min` is NULL when any
   * element is NULL, DuckDB's `list_min` skips NULLs. Use `minOf` in queries, never this.
   */
  listMin(list: string): string;
  size(list: string): string;
  first(list: string): string;
  percentile(expr: string, fraction: number): string;
  /**
   * `CROSS JOIN UNNEST(list)` of an array of structs whose element has the fields `fields` (all
   * of them, in table order: Trino expands an array of ROW into one column per field and
   * rejects an alias list of another length), and how to read a field of one element.
   */
  unnestStructs(
    list: string,
    alias: string,
    fields: readonly string[],
  ): { join: string; field: (name: string) => string };
  /** A struct of the lake's key/value shape, `{key, value}` (custom_variables' element type). */
  keyValue(key: string, value: string): string;
  /** The `dt` string (yyyy-MM-dd) `days` days before today (UTC in Athena). */
  daysAgo(days: number): string;
  /** The scalar at a JSON path of a JSON text column (chat_threads' free-form objects), as text. */
  jsonText(json: string, path: string): string;
  /** The strings of `list` joined by `separator`. */
  joinList(list: string, separator: string): string;
  /**
   * Every day from `first` to `last` (yyyy-MM-dd texts, `first` <= `last`) as a list: dates in
   * Trino, timestamps in DuckDB, so read an element as `CAST(CAST(day AS date) AS varchar)`.
   */
  daySequence(first: string, last: string): string;
}

/**
 * Names double-quoted wherever a query uses them as identifiers: Trino's reserved keywords the
 * lake's field names use (trino.io, "Keywords and identifiers"), and `date` / `timestamp`,
 * which are type names in both engines (quoted by convention, so no reader wonders).
 */
const QUOTED_NAMES = new Set(['group', 'order', 'date', 'timestamp']);

export const sqlName = (name: string): string => (QUOTED_NAMES.has(name) ? `"${name}"` : name);

function knownField(fields: readonly string[], name: string): string {
  if (!fields.includes(name)) throw new Error(`no field ${name} in the unnested struct (${fields.join(', ')})`);
  return name;
}

export const ATHENA: SqlDialect = {
  engine: 'athena',
  filter: (list, x, body) => `filter(${list}, ${x} -> ${body})`,
  transform: (list, x, body) => `transform(${list}, ${x} -> ${body})`,
  listMin: (list) => `array_min(${list})`,
  size: (list) => `cardinality(${list})`,
  first: (list) => `element_at(${list}, 1)`,
  percentile: (expr, fraction) => `approx_percentile(${expr}, ${fraction})`,
  unnestStructs: (list, alias, fields) => ({
    join: `CROSS JOIN UNNEST(${list}) AS ${alias} (${fields.map(sqlName).join(', ')})`,
    field: (name) => `${alias}.${sqlName(knownField(fields, name))}`,
  }),
  keyValue: (key, value) => `CAST(ROW(${key}, ${value}) AS ROW(key varchar, value varchar))`,
  daysAgo: (days) => `CAST(current_date - INTERVAL '${days}' DAY AS varchar)`,
  jsonText: (json, path) => `json_extract_scalar(${json}, '${path}')`,
  joinList: (list, separator) => `array_join(${list}, '${separator}')`,
  // At most 10 000 elements in Trino: 27 years of days.
  daySequence: (first, last) => `sequence(CAST(${first} AS date), CAST(${last} AS date), INTERVAL '1' DAY)`,
};

export const DUCKDB: SqlDialect = {
  engine: 'duckdb',
  filter: (list, x, body) => `list_filter(${list}, lambda ${x}: ${body})`,
  transform: (list, x, body) => `list_transform(${list}, lambda ${x}: ${body})`,
  listMin: (list) => `list_min(${list})`,
  size: (list) => `len(${list})`,
  first: (list) => `${list}[1]`,
  percentile: (expr, fraction) => `quantile_cont(${expr}, ${fraction})`,
  unnestStructs: (list, alias, fields) => ({
    join: `CROSS JOIN UNNEST(${list}) AS ${alias} (item)`,
    field: (name) => `${alias}.item.${sqlName(knownField(fields, name))}`,
  }),
  keyValue: (key, value) => `{'key': ${key}, 'value': ${value}}`,
  daysAgo: (days) => `CAST(current_date - ${days} AS VARCHAR)`,
  jsonText: (json, path) => `json_extract_string(${json}, '${path}')`,
  joinList: (list, separator) => `array_to_string(${list}, '${separator}')`,
  daySequence: (first, last) => `generate_series(CAST(${first} AS date), CAST(${last} AS date), INTERVAL 1 DAY)`,
};

/** Smallest non-NULL element (NULL when there is none), the same in both engines. */
export function minOf(d: SqlDialect, list: string): string {
  return d.listMin(d.filter(list, 'v', 'v IS NOT NULL'));
}
