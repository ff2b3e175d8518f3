/**
 * Named queries over the chat lake, each written once and rendered for two engines
 * (functions/lake/sql-dialect.ts holds every spelling that differs):
 *
 * - `athenaSql`: Athena engine v3 (Trino) against table `chats`; the database comes from the
 *   query execution context (the CDK code creates AWS::Athena::NamedQuery from these).
 * - `duckdbSql`: DuckDB against the view `chats` created by duckdb-lake.ts (same columns,
 *   `dt` is VARCHAR like Athena's string partition key).
 *
 * Cost: each query reads the lake once (Trino does not reuse a CTE, so a CTE referenced twice
 * is two scans) and takes its days where partition pruning works: in the innermost
 * `FROM chats`, on the line marked `-- EDIT HERE: the days`, and their months on the next line
 * (`month`, the compacted month files' partition: docs/compaction.md). A filter on `dt` above the
 * `row_number()` window or in the outer query is not pushed below the window, so the whole
 * lake would be read. By default a query reads the last 30 days. `duplicate_chats` and
 * `day_completeness` read the JSON days (`chats_json`) a second time, to count a compacted copy
 * beside a JSON copy of its day once (storedCopies).
 *
 * Conventions: `"group"` (reserved) and the `_`-prefixed metadata columns are always
 * double-quoted; `"date"`/`"timestamp"` struct fields too. Analytics run on the latest copy of
 * each chat (a chat re-archived by a later run has several rows; the copy with the greatest
 * `_archived_at` wins, ties broken by `_run_id`, then `_page`). No statement ends with a semicolon.
 */
import { COMPACTED_TABLES } from './athena-compaction-sql.ts';
import { CHAT_SCHEMA } from './chat-columns.ts';
import { MONTH_COLUMN, monthOf } from './compacted-columns.ts';
import { ATHENA, DUCKDB, minOf, type SqlDialect } from './sql-dialect.ts';

/** The days a query reads: the last N days (default 30), or an inclusive range of dt values. */
export type DayWindow = { lastDays: number } | { from: string; to: string };

export const DEFAULT_WINDOW: DayWindow = { lastDays: 30 };

/** Every day (for a local lake, where a full read costs nothing but time). */
export const ALL_DAYS: DayWindow = { from: '0001-01-01', to: '9999-12-31' };
const ALL_DAYS_END = '9999-12-31';

/** What a deployment knows beyond the window: `retentionDays`, the lake's lifecycle expiry (cdk.json). */
export interface QueryOptions {
  retentionDays?: number | undefined;
}

export interface NamedQuery {
  name: string;
  description: string;
  /** The query for one engine, reading the days of `window` (default: the last 30 days). */
  render(dialect: SqlDialect, window?: DayWindow, options?: QueryOptions): string;
  /** Athena text with the default window, as saved in the workgroup. */
  athenaSql: string;
  /** DuckDB text with the default window. */
  duckdbSql: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The `WHERE` line on the innermost FROM of a table, with the comment that tells the user to edit
 * it. On the views `chats`, `chat_threads` and `chat_files` (`month` given) the days' months too: `month` is
 * the compacted month files' partition, so Athena (partition projection) and DuckDB (hive file
 * filter) open only those months' files; `dt` alone is a column inside them and opens every one.
 * A month range wider than the days is always right (each row's month is its day's).
 */
function daysFilter(d: SqlDialect, window: DayWindow, column: string, month?: string): string {
  const example = `WHERE ${column} BETWEEN '2026-01-01' AND '2026-01-31'${month ? ` AND ${month} BETWEEN '2026-01' AND '2026-01'` : ''}`;
  const edit = month
    ? `-- EDIT HERE: the days to read (dt) and their months (month), e.g. ${example}`
    : `-- EDIT HERE: the days to read (dt), e.g. ${example}`;
  if ('lastDays' in window) {
    if (!Number.isInteger(window.lastDays) || window.lastDays < 0) throw new Error('lastDays must be a whole number');
    const first = d.daysAgo(window.lastDays);
    return `${edit}\nWHERE ${column} >= ${first}${month ? `\n  AND ${month} >= substr(${first}, 1, 7)` : ''}`;
  }
  if (!DAY.test(window.from) || !DAY.test(window.to)) throw new Error('a day window is two yyyy-MM-dd days');
  const months = month ? `\n  AND ${month} BETWEEN '${monthOf(window.from)}' AND '${monthOf(window.to)}'` : '';
  return `${edit}\nWHERE ${column} BETWEEN '${window.from}' AND '${window.to}'${months}`;
}

/** The window on a read of the view `chats`, `chat_threads` or `chat_files` as `alias`: its days and their months. */
const viewDaysFilter = (d: SqlDialect, window: DayWindow, alias?: string) =>
  daysFilter(d, window, alias ? `${alias}.dt` : 'dt', alias ? `${alias}.${MONTH_COLUMN.name}` : MONTH_COLUMN.name);

const indent = (text: string, spaces: number) => text.replaceAll('\n', `\n${' '.repeat(spaces)}`);

/**
 * CTE `name`: the latest copy of every row of `table` in the window, one per `copyKey`; the one
 * place a query reads that table.
 */
function latestCopies(name: string, table: string, copyKey: string, d: SqlDialect, window: DayWindow): string {
  return `${name} AS (
  SELECT *
  FROM (
    SELECT c.*,
           row_number() OVER (
             PARTITION BY ${copyKey}
             ORDER BY c."_archived_at" DESC, c."_run_id" DESC, c."_page" DESC
           ) AS copy_rank
    FROM ${table} c
    ${indent(viewDaysFilter(d, window, 'c'), 4)}
  ) ranked
  WHERE copy_rank = 1
)`;
}

/** The latest copy of every chat in the window; the one place a query reads the lake. */
const latest = (d: SqlDialect, window: DayWindow) => latestCopies('latest', 'chats', 'c.id', d, window);

/** The latest copy of every thread in the window from chat_threads (raw v3.6 entries); reads it once. */
const latestThreads = (d: SqlDialect, window: DayWindow) =>
  latestCopies('threads', 'chat_threads', 'c.thread.id', d, window);

/** The JSON days of `chats` (days not compacted yet, and re-archives of compacted days): Glue table and DuckDB view. */
export const CHATS_JSON_TABLE = COMPACTED_TABLES[0]!.jsonTable;

/**
 * CTEs `stored` and `copies`: each stored copy of a chat in the window (id, run, archive time,
 * dt), as compacting every day again would leave them. A chat's compacted copy is left out when
 * its day also holds a JSON copy of it (a re-archive of a compacted day not compacted yet, or a
 * compaction stopped between its write and its deletes): compacting the day again merges them
 * into one row. JSON copies all count (a pass not settled yet, a chat on two days), as before
 * compaction. `chats` is read once (every row, tagged 0) and its JSON days once more (tagged 1):
 * a row counts when it is a JSON row, or when its chat and day have no JSON row at all and it is
 * the first compacted row of its version (a compaction stopped between writing a month's new file
 * and deleting its old one leaves the same version in both; compacting again keeps one).
 */
function storedCopies(d: SqlDialect, window: DayWindow): string {
  const columns = (alias: string) =>
    `${alias}.id, ${alias}."_run_id", ${alias}."_archived_at", ${alias}."_page", ${alias}.dt`;
  return `stored AS (
  SELECT ${columns('c')}, 0 AS in_json
  FROM chats c
  ${indent(viewDaysFilter(d, window, 'c'), 2)}
  UNION ALL
  SELECT ${columns('j')}, 1 AS in_json
  FROM ${CHATS_JSON_TABLE} j
  ${indent(daysFilter(d, window, 'j.dt'), 2)}
),
copies AS (
  SELECT id, "_run_id", "_archived_at", dt
  FROM (
    SELECT s.*,
           max(s.in_json) OVER (PARTITION BY s.id, s.dt) AS day_has_json,
           row_number() OVER (
             PARTITION BY s.id, s.dt, s.in_json, s."_run_id", s."_archived_at", s."_page"
           ) AS same_version
    FROM stored s
  ) tagged
  WHERE in_json = 1 OR (day_has_json = 0 AND same_version = 1)
)`;
}

/** Chats and missed chats per element of an array column (a chat counts once for each of its elements). */
function chatsPerElement(
  d: SqlDialect,
  window: DayWindow,
  unnest: { array: string; alias: string; element: string; orderBy: string },
): string {
  const { array, alias, element, orderBy } = unnest;
  return `
WITH ${latest(d, window)}
SELECT ${alias}.${element},
       count(DISTINCT l.id) AS chats,
       count(DISTINCT CASE WHEN l.type = 'missed_chat' THEN l.id END) AS missed_chats
FROM latest l
CROSS JOIN UNNEST(l.${array}) AS ${alias} (${element})
GROUP BY ${alias}.${element}
ORDER BY ${orderBy}
`;
}

/** Every field of the struct element of array column `column` of `chats`, in table order. */
function elementFields(column: string): string[] {
  const type = CHAT_SCHEMA.find((f) => f.name === column)?.type;
  if (type?.kind !== 'array' || type.element.kind !== 'struct') throw new Error(`${column} is not an array of structs`);
  return type.element.fields.map((f) => f.name);
}

/**
 * The last calendar day of day_completeness: the window's last day, but never after yesterday.
 * ALL_DAYS (a local lake read whole) lists the lake's own days: no tail past its last known day.
 */
function calendarEnd(d: SqlDialect, window: DayWindow): string {
  if ('lastDays' in window) return d.daysAgo(1);
  if (!DAY.test(window.to)) throw new Error('a day window is two yyyy-MM-dd days');
  if (window.to === ALL_DAYS_END) return `'0001-01-01'`;
  return `least('${window.to}', ${d.daysAgo(1)})`;
}

/** Days before this dt have passed the deployment's retention (none when it keeps chats forever). */
function retentionCutoff(d: SqlDialect, options: QueryOptions): string {
  const days = options.retentionDays;
  if (days === undefined) return 'CAST(NULL AS varchar)';
  if (!Number.isInteger(days) || days < 1) throw new Error('retentionDays must be a whole number of days');
  return d.daysAgo(days);
}

type Build = (d: SqlDialect, window: DayWindow, options: QueryOptions) => string;

const WINDOW_NOTE = 'Reads the last 30 days: edit the line(s) marked EDIT HERE: the days.';

function query(name: string, description: string, build: Build): NamedQuery {
  const render = (d: SqlDialect, window: DayWindow = DEFAULT_WINDOW, options: QueryOptions = {}) =>
    build(d, window, options).trim();
  return {
    name,
    description: `${description} ${WINDOW_NOTE}`,
    render,
    athenaSql: render(ATHENA),
    duckdbSql: render(DUCKDB),
  };
}

export const NAMED_QUERIES: readonly NamedQuery[] = [
  query(
    'chats_per_day',
    'Chats per partition day (dt), latest copy of each chat: total, regular (type chat) and missed (type missed_chat).',
    (d, w) => `
WITH ${latest(d, w)}
SELECT dt,
       count(*) AS total_chats,
       count_if(type = 'chat') AS regular_chats,
       count_if(type = 'missed_chat') AS missed_chats
FROM latest
GROUP BY dt
ORDER BY dt
`,
  ),
  query(
    'chats_per_agent_per_day',
    'Chats per agent (by e-mail) per day: one row per dt and agent from UNNEST(agents); a transferred chat counts for every agent in it.',
    (d, w) => {
      const a = d.unnestStructs('l.agents', 'a', elementFields('agents'));
      return `
WITH ${latest(d, w)}
SELECT l.dt,
       ${a.field('email')} AS agent_email,
       max(${a.field('display_name')}) AS agent_name,
       count(DISTINCT l.id) AS chats
FROM latest l
${a.join}
GROUP BY l.dt, ${a.field('email')}
ORDER BY 1, 2
`;
    },
  ),
  query(
    'rating_share',
    "Share of good / bad / not rated chats among regular chats (type chat; missed chats cannot be rated). rate 'rated_good' = good, 'rated_bad' = bad, anything else = not_rated.",
    (d, w) => `
WITH ${latest(d, w)}
SELECT CASE rate WHEN 'rated_good' THEN 'good' WHEN 'rated_bad' THEN 'bad' ELSE 'not_rated' END AS rating,
       count(*) AS chats,
       round(100 * CAST(count(*) AS double) / sum(count(*)) OVER (), 2) AS share_pct
FROM latest
WHERE type = 'chat'
GROUP BY 1
ORDER BY 1
`,
  ),
  query(
    'missed_chat_share',
    "Missed-chat share (type missed_chat) per day, plus an overall row with day_or_total = 'ALL' (sorted last).",
    (d, w) => `
WITH ${latest(d, w)}
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(*) AS total_chats,
       count_if(type = 'missed_chat') AS missed_chats,
       round(100 * CAST(count_if(type = 'missed_chat') AS double) / count(*), 2) AS missed_pct
FROM latest
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
  ),
  query(
    'goals_reached',
    'Goals reached: chats per goal (UNNEST(goals)) and their share of all chats (counted in the same pass, by a window). goals is present only on chats that reached a goal.',
    (d, w) => {
      const g = d.unnestStructs('c.goals', 'g', elementFields('goals'));
      return `
WITH ${latest(d, w)},
counted AS (
  SELECT id, goals, count(*) OVER () AS all_chats
  FROM latest
)
SELECT ${g.field('id')} AS goal_id,
       max(${g.field('name')}) AS goal_name,
       count(DISTINCT c.id) AS chats,
       round(100 * CAST(count(DISTINCT c.id) AS double) / max(c.all_chats), 2) AS pct_of_all_chats
FROM counted c
${g.join}
GROUP BY ${g.field('id')}
ORDER BY chats DESC, goal_id
`;
    },
  ),
  query(
    'duration_stats',
    "Chat duration (seconds) of regular chats per day plus an overall 'ALL' row: average, median and p90 (approx_percentile in Athena, exact interpolated quantile_cont in DuckDB), max.",
    (d, w) => `
WITH ${latest(d, w)}
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(*) AS chats,
       round(avg(duration), 1) AS avg_duration_s,
       ${d.percentile('duration', 0.5)} AS p50_duration_s,
       ${d.percentile('duration', 0.9)} AS p90_duration_s,
       max(duration) AS max_duration_s
FROM latest
WHERE type = 'chat' AND duration IS NOT NULL
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
  ),
  query(
    'first_response_time',
    "First agent response time (seconds) of regular chats, from messages: first message with user_type 'agent' at or after the first visitor message, minus that visitor message's timestamp; when the visitor never wrote, minus started_timestamp. Agent greetings before the visitor's first message are not responses; messages without a timestamp are skipped. Per day plus an 'ALL' row; chats without an agent message are left out.",
    (d, w) => {
      const timestamps = (predicate: string) => d.transform(d.filter('messages', 'm', predicate), 'm', 'm."timestamp"');
      return `
WITH ${latest(d, w)},
per_chat AS (
  SELECT dt,
         id,
         messages,
         coalesce(${minOf(d, timestamps("m.user_type = 'visitor'"))}, started_timestamp) AS asked_at
  FROM latest
  WHERE type = 'chat'
),
responses AS (
  SELECT dt,
         id,
         ${minOf(d, timestamps(`m.user_type = 'agent' AND m."timestamp" >= asked_at`))} - asked_at AS first_response_s
  FROM per_chat
)
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(first_response_s) AS chats_with_response,
       round(avg(first_response_s), 1) AS avg_first_response_s,
       ${d.percentile('first_response_s', 0.5)} AS p50_first_response_s,
       ${d.percentile('first_response_s', 0.9)} AS p90_first_response_s
FROM responses
GROUP BY ROLLUP (dt)
ORDER BY 1
`;
    },
  ),
  query(
    'message_search',
    "Full-text search in message texts: chats with at least one message containing the search term (case-insensitive substring, no wildcards). EDIT the literal 'refund' in the params CTE at the top of the query to search for something else.",
    (d, w) => `
WITH params AS (
  -- EDIT HERE: the search term (case-insensitive substring of a message text)
  SELECT lower('refund') AS term
),
${latest(d, w)},
hits AS (
  SELECT l.dt,
         l.id,
         l.visitor_name,
         ${d.filter('l.messages', 'm', 'strpos(lower(m.text), p.term) > 0')} AS matched
  FROM latest l
  CROSS JOIN params p
)
SELECT dt,
       id,
       visitor_name,
       ${d.size('matched')} AS matching_messages,
       ${d.first('matched')}.text AS first_match
FROM hits
WHERE ${d.size('matched')} > 0
ORDER BY dt, id
`,
  ),
  query(
    'latest_copy_per_chat',
    'Every chat once: the copy with the greatest _archived_at (then _run_id, _page) across re-archives, all columns, plus copies = how many rows the lake holds for that chat id. Use as the source of a CTAS/view of deduplicated chats.',
    (d, w) => `
SELECT *
FROM (
  SELECT c.*,
         row_number() OVER (
           PARTITION BY c.id
           ORDER BY c."_archived_at" DESC, c."_run_id" DESC, c."_page" DESC
         ) AS copy_rank,
         count(*) OVER (PARTITION BY c.id) AS copies
  FROM chats c
  ${indent(viewDaysFilter(d, w, 'c'), 2)}
) ranked
WHERE copy_rank = 1
ORDER BY dt, id
`,
  ),
  query(
    'chats_with_variable',
    "Chats carrying a given variable key in custom_variables, prechat_survey or integration_variables (case-insensitive exact key match), with its value. EDIT the literal 'customer_login' in the params CTE to look for another key.",
    (d, w) => {
      // vars is custom_variables, integration_variables or prechat_survey cast to their {key, value} shape
      const v = d.unnestStructs('s.vars', 'v', elementFields('custom_variables'));
      const survey = d.transform('l.prechat_survey', 'q', d.keyValue('q.key', 'q.value'));
      return `
WITH params AS (
  -- EDIT HERE: the variable key (case-insensitive exact match)
  SELECT lower('customer_login') AS var_key
),
${latest(d, w)},
sources AS (
  SELECT l.dt,
         l.id,
         l.visitor_name,
         s.source,
         CASE s.source
           WHEN 'custom_variables' THEN l.custom_variables
           WHEN 'prechat_survey' THEN ${survey}
           ELSE l.integration_variables
         END AS vars
  FROM latest l
  CROSS JOIN (VALUES ('custom_variables'), ('prechat_survey'), ('integration_variables')) AS s (source)
)
SELECT s.dt, s.id, s.visitor_name, s.source, ${v.field('key')} AS var_key, ${v.field('value')} AS var_value
FROM sources s
${v.join}
CROSS JOIN params p
WHERE lower(${v.field('key')}) = p.var_key
ORDER BY s.dt, s.id, s.source
`;
    },
  ),
  query(
    'chats_per_group',
    'Chats and missed chats per LiveChat group id (UNNEST of the reserved-word column "group").',
    (d, w) => chatsPerElement(d, w, { array: '"group"', alias: 'g', element: 'group_id', orderBy: '1' }),
  ),
  query(
    'chats_per_tag',
    'Chats and missed chats per tag (UNNEST(tags); a chat with several tags counts for each), most used first.',
    (d, w) => chatsPerElement(d, w, { array: 'tags', alias: 't', element: 'tag', orderBy: '2 DESC, 1' }),
  ),
  query(
    'archive_runs',
    'Archiver bookkeeping per _run_id: rows written, distinct chats, partitions touched, highest page, first and last _archived_at. All rows, no dedup.',
    (d, w) => `
SELECT "_run_id" AS run_id,
       min("_archived_at") AS first_archived_at,
       max("_archived_at") AS last_archived_at,
       count(*) AS rows_written,
       count(DISTINCT id) AS distinct_chats,
       count(DISTINCT dt) AS partitions,
       max("_page") AS max_page
FROM chats
${viewDaysFilter(d, w)}
GROUP BY "_run_id"
ORDER BY first_archived_at, run_id
`,
  ),
  query(
    'duplicate_chats',
    'Chat ids stored more than once (re-archived by several runs or seen on two pages), with copy count, runs, partitions and archive time range. A compacted copy beside a JSON copy of the same chat and day (a re-archive of a compacted day, not compacted again yet) is not counted: compacting the day again keeps one. Empty when the lake has no duplicates.',
    (d, w) => `
WITH ${storedCopies(d, w)}
SELECT id,
       count(*) AS copies,
       count(DISTINCT "_run_id") AS runs,
       count(DISTINCT dt) AS partitions,
       min("_archived_at") AS first_archived_at,
       max("_archived_at") AS last_archived_at
FROM copies
GROUP BY id
HAVING count(*) > 1
ORDER BY copies DESC, id
`,
  ),
  query(
    'day_completeness',
    "Did the archive get every chat? One row per calendar day from the first archived day of the window to its last day (yesterday at most; today too when it holds chats). expected_chats = the total of the day's latest plan (table day_plans, latest plannedat) less the chats of erased visitors it dropped (table dropped_chats); archived_chats = distinct chat ids in the lake; kept_chats = archived chats LiveChat no longer returned; missing; duplicates (rows beyond one per chat id; not a compacted copy beside a JSON one); status: complete, kept, missing, duplicates, extra, not_planned (chats but no plan), not_archived (neither plan nor chats: a night that never ran) or expired (chat files removed by retention: npm run prune, table expired_days, or older than the deployment's retentionDays; not incomplete); filters: the lake's chat filters, NULL when unfiltered. Every row should say complete after a night.",
    (d, w, options) => `
WITH plans AS (
  SELECT p.dt,
         p.total AS expected_chats,
         p.runid AS run_id,
         p.attempt,
         p.plannedat AS planned_at,
         p.filters,
         p.kept AS kept_chats,
         row_number() OVER (PARTITION BY p.dt ORDER BY p.plannedat DESC, p.attempt DESC) AS plan_rank
  FROM day_plans p
  ${indent(daysFilter(d, w, 'p.dt'), 2)}
),
latest AS (
  -- The day's latest plan, less the chats of erased visitors its pass dropped or an erase removed later.
  SELECT p.dt, p.expected_chats - coalesce(sum(x.chats), 0) AS expected_chats,
         p.run_id, p.attempt, p.planned_at, p.filters, p.kept_chats
  FROM plans p
  LEFT JOIN dropped_chats x
    ON x.dt = p.dt AND x.runid = p.run_id
   AND (x.attempt = p.attempt OR (x.attempt IS NULL AND x.recordedat > p.planned_at))
  WHERE p.plan_rank = 1
  GROUP BY p.dt, p.expected_chats, p.run_id, p.attempt, p.planned_at, p.filters, p.kept_chats
),
${storedCopies(d, w)},
archived AS (
  SELECT c.dt,
         count(DISTINCT c.id) AS archived_chats,
         count(*) - count(DISTINCT c.id) AS duplicates
  FROM copies c
  GROUP BY c.dt
),
joined AS (
  SELECT coalesce(p.dt, a.dt) AS dt,
         p.expected_chats,
         coalesce(a.archived_chats, 0) AS archived_chats,
         coalesce(a.duplicates, 0) AS duplicates,
         coalesce(p.kept_chats, 0) AS kept_chats,
         p.run_id,
         p.attempt,
         p.planned_at,
         p.filters
  FROM latest p
  FULL OUTER JOIN archived a ON a.dt = p.dt
),
spans AS (
  -- A day the lake knows, and the calendar days after it that it does not (up to the next known day).
  SELECT j.*,
         lead(j.dt) OVER (ORDER BY j.dt) AS next_dt,
         -- EDIT HERE: the calendar's last day: the window's last day, yesterday at most
         ${calendarEnd(d, w)} AS calendar_end
  FROM joined j
),
calendar AS (
  SELECT CAST(CAST(s.day AS date) AS varchar) AS day, sp.*
  FROM spans sp
  CROSS JOIN UNNEST(${d.daySequence('sp.dt', 'greatest(sp.dt, coalesce(sp.next_dt, sp.calendar_end))')}) AS s (day)
),
days AS (
  -- The calendar days between known days have no plan, no chats and no run.
  SELECT c.day AS dt,
         CASE WHEN c.day = c.dt THEN c.expected_chats END AS expected_chats,
         CASE WHEN c.day = c.dt THEN c.archived_chats ELSE 0 END AS archived_chats,
         CASE WHEN c.day = c.dt THEN c.duplicates ELSE 0 END AS duplicates,
         CASE WHEN c.day = c.dt THEN c.kept_chats ELSE 0 END AS kept_chats,
         CASE WHEN c.day = c.dt THEN c.run_id END AS run_id,
         CASE WHEN c.day = c.dt THEN c.attempt END AS attempt,
         CASE WHEN c.day = c.dt THEN c.planned_at END AS planned_at,
         CASE WHEN c.day = c.dt THEN c.filters END AS filters
  FROM calendar c
  WHERE c.day = c.dt OR c.next_dt IS NULL OR c.day < c.next_dt
),
expired AS (
  -- Days npm run prune removed chat files from (recorded before the delete); the latest prune of each.
  SELECT x.dt, max(x.expiredat) AS expired_at
  FROM expired_days x
  GROUP BY x.dt
),
judged AS (
  SELECT y.*,
         -- Expired by retention, not missing: pruned after the day's latest plan, or (S3 lifecycle rule,
         -- which records nothing) short and older than the deployment's retentionDays.
         coalesce(
           (x.expired_at IS NOT NULL
             AND (y.planned_at IS NULL OR x.expired_at > y.planned_at)
             AND (y.expected_chats IS NULL OR y.archived_chats < y.expected_chats + y.kept_chats))
           OR (y.archived_chats < y.expected_chats + y.kept_chats AND y.dt < ${retentionCutoff(d, options)}),
           false
         ) AS expired
  FROM days y
  LEFT JOIN expired x ON x.dt = y.dt
)
SELECT dt,
       expected_chats,
       archived_chats,
       CASE
         WHEN expired THEN 0
         WHEN expected_chats IS NULL AND archived_chats = 0 THEN NULL
         ELSE greatest(coalesce(expected_chats, 0) + kept_chats - archived_chats, 0)
       END AS missing,
       duplicates,
       kept_chats,
       CASE
         WHEN expired THEN 'expired'
         WHEN expected_chats IS NULL AND archived_chats = 0 THEN 'not_archived'
         WHEN expected_chats IS NULL THEN 'not_planned'
         WHEN archived_chats < expected_chats + kept_chats THEN 'missing'
         WHEN duplicates > 0 THEN 'duplicates'
         WHEN archived_chats > expected_chats + kept_chats THEN 'extra'
         WHEN kept_chats > 0 THEN 'kept'
         ELSE 'complete'
       END AS status,
       run_id,
       attempt,
       planned_at,
       filters
FROM judged
ORDER BY dt
`,
  ),
  query(
    'thread_tags_and_summaries',
    'v3.6 only, from the raw chat_threads table (empty on a v2 lake): each thread, latest copy, with its chat id, tags, rating score and comment (thread properties rating.score, rating.comment) and the conversation summary.',
    (d, w) => `
WITH ${latestThreads(d, w)}
SELECT dt,
       id AS chat_id,
       thread.id AS thread_id,
       ${d.jsonText('thread.properties', '$.rating.score')} AS rating_score,
       ${d.jsonText('thread.properties', '$.rating.comment')} AS rating_comment,
       ${d.joinList('thread.tags', ', ')} AS tags,
       thread.summary.text AS summary
FROM threads
ORDER BY dt, thread_id
`,
  ),
  query(
    'files_per_day',
    'Attachments per day (dt): expected_files = the files the chats of the latest settled plan point to (table day_plans, files), files = chat_files rows, then by status (stored, gone, too_large, refused_host, failed), bytes_stored, chats_with_files (chats with at least one file) and chats (distinct chats archived). expected_files above files means files tasks have not all run yet; failed ones are tried again by the next run that archives the day.',
    (d, w) => `
WITH plans AS (
  SELECT p.dt,
         p.files AS expected_files,
         row_number() OVER (PARTITION BY p.dt ORDER BY p.plannedat DESC, p.attempt DESC) AS plan_rank
  FROM day_plans p
  ${indent(daysFilter(d, w, 'p.dt'), 2)}
),
files AS (
  SELECT f.dt,
         count(*) AS files,
         sum(CASE WHEN f.status = 'stored' THEN 1 ELSE 0 END) AS stored,
         sum(CASE WHEN f.status = 'gone' THEN 1 ELSE 0 END) AS gone,
         sum(CASE WHEN f.status = 'too_large' THEN 1 ELSE 0 END) AS too_large,
         sum(CASE WHEN f.status = 'refused_host' THEN 1 ELSE 0 END) AS refused_host,
         sum(CASE WHEN f.status = 'failed' THEN 1 ELSE 0 END) AS failed,
         sum(CASE WHEN f.status = 'stored' THEN CAST(f.size AS BIGINT) ELSE 0 END) AS bytes_stored,
         count(DISTINCT coalesce(f.thread_id, f.chat_id)) AS chats_with_files
  FROM chat_files f
  ${indent(viewDaysFilter(d, w, 'f'), 2)}
  GROUP BY f.dt
),
chat_days AS (
  SELECT c.dt, count(DISTINCT c.id) AS chats
  FROM chats c
  ${indent(viewDaysFilter(d, w, 'c'), 2)}
  GROUP BY c.dt
)
SELECT coalesce(f.dt, p.dt) AS dt,
       p.expected_files,
       coalesce(f.files, 0) AS files,
       coalesce(f.stored, 0) AS stored,
       coalesce(f.gone, 0) AS gone,
       coalesce(f.too_large, 0) AS too_large,
       coalesce(f.refused_host, 0) AS refused_host,
       coalesce(f.failed, 0) AS failed,
       coalesce(f.bytes_stored, 0) AS bytes_stored,
       coalesce(f.chats_with_files, 0) AS chats_with_files,
       coalesce(c.chats, 0) AS chats
FROM files f
FULL OUTER JOIN (SELECT dt, expected_files FROM plans WHERE plan_rank = 1 AND expected_files > 0) p ON p.dt = f.dt
LEFT JOIN chat_days c ON c.dt = coalesce(f.dt, p.dt)
ORDER BY 1
`,
  ),
  query(
    'files_by_type',
    'Attachments by day (dt), content type and status, with bytes stored and the chats they belong to (each file row joined to the latest copy of its chat in chats; for v3.6 the thread): which kinds of files visitors send, and which did not make it into the lake.',
    (d, w) => `
WITH ${latest(d, w)},
files AS (
  SELECT f.dt, coalesce(f.thread_id, f.chat_id) AS chat, coalesce(f.content_type, 'unknown') AS content_type, f.status, f.size
  FROM chat_files f
  ${indent(viewDaysFilter(d, w, 'f'), 2)}
)
SELECT f.dt,
       f.content_type,
       f.status,
       count(*) AS files,
       sum(CASE WHEN f.status = 'stored' THEN CAST(f.size AS BIGINT) ELSE 0 END) AS bytes_stored,
       count(DISTINCT l.id) AS chats
FROM files f
LEFT JOIN latest l ON l.id = f.chat AND l.dt = f.dt
GROUP BY f.dt, f.content_type, f.status
ORDER BY f.dt, f.content_type, f.status
`,
  ),
];
