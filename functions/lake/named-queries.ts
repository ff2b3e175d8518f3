/**
 * Named queries over the chat lake, each in two dialects kept side by side:
 *
 * - `athenaSql`: Athena engine v3 (Trino) against table `chats`; the database comes from the
 *   query execution context (the CDK code creates AWS::Athena::NamedQuery from these).
 * - `duckdbSql`: DuckDB against the view `chats` created by duckdb-lake.ts (same columns,
 *   `dt` is VARCHAR like Athena's string partition key).
 *
 * Where the dialects agree the SQL is literally the same string (`same(...)`). Differences:
 * arrays of structs are unnested as columns in Trino (`UNNEST(agents) AS a (display_name, email)`)
 * but as one struct column in DuckDB (`UNNEST(agents) AS a (agent)`); lambdas are
 * `filter/transform/array_min/cardinality` with `m -> ...` in Trino and
 * `list_filter/list_transform/list_min/len` with `lambda m: ...` in DuckDB; percentiles are
 * `approx_percentile` (approximate, returns an observed value) in Athena and `quantile_cont`
 * (exact, interpolated) in DuckDB, so those two columns can differ slightly.
 *
 * Conventions: `"group"` (reserved) and the `_`-prefixed metadata columns are always
 * double-quoted; `"date"`/`"timestamp"` struct fields too. Analytics run on the latest copy of
 * each chat (a chat re-archived by a later run has several rows; the copy with the greatest
 * `_archived_at` wins, ties broken by `_run_id`, then `_page`). To restrict a query to some days,
 * add `WHERE dt BETWEEN '2024-01-01' AND '2024-01-31'` inside the `latest` CTE (partition
 * pruning in Athena, file pruning in DuckDB). No statement ends with a semicolon.
 */

export interface NamedQuery {
  name: string;
  description: string;
  athenaSql: string;
  duckdbSql: string;
}

/** The latest copy of every chat; shared by both dialects. */
const LATEST_CTE = `latest AS (
  SELECT *
  FROM (
    SELECT c.*,
           row_number() OVER (
             PARTITION BY c.id
             ORDER BY c."_archived_at" DESC, c."_run_id" DESC, c."_page" DESC
           ) AS copy_rank
    FROM chats c
  ) ranked
  WHERE copy_rank = 1
)`;

const same = (sql: string) => ({ athenaSql: sql.trim(), duckdbSql: sql.trim() });
const both = (athena: string, duckdb: string) => ({ athenaSql: athena.trim(), duckdbSql: duckdb.trim() });

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: 'chats_per_day',
    description:
      'Chats per partition day (dt), latest copy of each chat: total, regular (type chat) and missed (type missed_chat).',
    ...same(`
WITH ${LATEST_CTE}
SELECT dt,
       count(*) AS total_chats,
       count_if(type = 'chat') AS regular_chats,
       count_if(type = 'missed_chat') AS missed_chats
FROM latest
GROUP BY dt
ORDER BY dt
`),
  },
  {
    name: 'chats_per_agent_per_day',
    description:
      'Chats per agent (by e-mail) per day: one row per dt and agent from UNNEST(agents); a transferred chat counts for every agent in it.',
    ...both(
      `
WITH ${LATEST_CTE}
SELECT l.dt,
       a.email AS agent_email,
       max(a.display_name) AS agent_name,
       count(DISTINCT l.id) AS chats
FROM latest l
CROSS JOIN UNNEST(l.agents) AS a (display_name, email)
GROUP BY l.dt, a.email
ORDER BY 1, 2
`,
      `
WITH ${LATEST_CTE}
SELECT l.dt,
       a.agent.email AS agent_email,
       max(a.agent.display_name) AS agent_name,
       count(DISTINCT l.id) AS chats
FROM latest l
CROSS JOIN UNNEST(l.agents) AS a (agent)
GROUP BY l.dt, a.agent.email
ORDER BY 1, 2
`,
    ),
  },
  {
    name: 'rating_share',
    description:
      "Share of good / bad / not rated chats among regular chats (type chat; missed chats cannot be rated). rate 'rated_good' = good, 'rated_bad' = bad, anything else = not_rated.",
    ...same(`
WITH ${LATEST_CTE}
SELECT CASE rate WHEN 'rated_good' THEN 'good' WHEN 'rated_bad' THEN 'bad' ELSE 'not_rated' END AS rating,
       count(*) AS chats,
       round(100 * CAST(count(*) AS double) / sum(count(*)) OVER (), 2) AS share_pct
FROM latest
WHERE type = 'chat'
GROUP BY 1
ORDER BY 1
`),
  },
  {
    name: 'missed_chat_share',
    description:
      "Missed-chat share (type missed_chat) per day, plus an overall row with day_or_total = 'ALL' (sorted last).",
    ...same(`
WITH ${LATEST_CTE}
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(*) AS total_chats,
       count_if(type = 'missed_chat') AS missed_chats,
       round(100 * CAST(count_if(type = 'missed_chat') AS double) / count(*), 2) AS missed_pct
FROM latest
GROUP BY ROLLUP (dt)
ORDER BY 1
`),
  },
  {
    name: 'goals_reached',
    description:
      'Goals reached: chats per goal (UNNEST(goals)) and their share of all chats. goals is present only on chats that reached a goal.',
    ...both(
      `
WITH ${LATEST_CTE}
SELECT g.id AS goal_id,
       max(g.name) AS goal_name,
       count(DISTINCT l.id) AS chats,
       round(100 * CAST(count(DISTINCT l.id) AS double) / (SELECT count(*) FROM latest), 2) AS pct_of_all_chats
FROM latest l
CROSS JOIN UNNEST(l.goals) AS g (id, name)
GROUP BY g.id
ORDER BY chats DESC, goal_id
`,
      `
WITH ${LATEST_CTE}
SELECT g.goal.id AS goal_id,
       max(g.goal.name) AS goal_name,
       count(DISTINCT l.id) AS chats,
       round(100 * CAST(count(DISTINCT l.id) AS double) / (SELECT count(*) FROM latest), 2) AS pct_of_all_chats
FROM latest l
CROSS JOIN UNNEST(l.goals) AS g (goal)
GROUP BY g.goal.id
ORDER BY chats DESC, goal_id
`,
    ),
  },
  {
    name: 'duration_stats',
    description:
      "Chat duration (seconds) of regular chats per day plus an overall 'ALL' row: average, median and p90 (approx_percentile in Athena, exact interpolated quantile_cont in DuckDB), max.",
    ...both(
      `
WITH ${LATEST_CTE}
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(*) AS chats,
       round(avg(duration), 1) AS avg_duration_s,
       approx_percentile(duration, 0.5) AS p50_duration_s,
       approx_percentile(duration, 0.9) AS p90_duration_s,
       max(duration) AS max_duration_s
FROM latest
WHERE type = 'chat' AND duration IS NOT NULL
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
      `
WITH ${LATEST_CTE}
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(*) AS chats,
       round(avg(duration), 1) AS avg_duration_s,
       quantile_cont(duration, 0.5) AS p50_duration_s,
       quantile_cont(duration, 0.9) AS p90_duration_s,
       max(duration) AS max_duration_s
FROM latest
WHERE type = 'chat' AND duration IS NOT NULL
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
    ),
  },
  {
    name: 'first_response_time',
    description:
      "First agent response time (seconds) of regular chats, from messages: first message with user_type 'agent' at or after the first visitor message, minus that visitor message's timestamp; when the visitor never wrote, minus started_timestamp. Agent greetings sent before the visitor's first message are not responses. Per day plus an 'ALL' row; chats without an agent message are left out.",
    ...both(
      `
WITH ${LATEST_CTE},
per_chat AS (
  SELECT dt,
         id,
         messages,
         coalesce(
           array_min(transform(filter(messages, m -> m.user_type = 'visitor'), m -> m."timestamp")),
           started_timestamp
         ) AS asked_at
  FROM latest
  WHERE type = 'chat'
),
responses AS (
  SELECT dt,
         id,
         array_min(transform(filter(messages, m -> m.user_type = 'agent' AND m."timestamp" >= asked_at), m -> m."timestamp"))
           - asked_at AS first_response_s
  FROM per_chat
)
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(first_response_s) AS chats_with_response,
       round(avg(first_response_s), 1) AS avg_first_response_s,
       approx_percentile(first_response_s, 0.5) AS p50_first_response_s,
       approx_percentile(first_response_s, 0.9) AS p90_first_response_s
FROM responses
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
      `
WITH ${LATEST_CTE},
per_chat AS (
  SELECT dt,
         id,
         messages,
         coalesce(
           list_min(list_transform(list_filter(messages, lambda m: m.user_type = 'visitor'), lambda m: m."timestamp")),
           started_timestamp
         ) AS asked_at
  FROM latest
  WHERE type = 'chat'
),
responses AS (
  SELECT dt,
         id,
         list_min(list_transform(list_filter(messages, lambda m: m.user_type = 'agent' AND m."timestamp" >= asked_at), lambda m: m."timestamp"))
           - asked_at AS first_response_s
  FROM per_chat
)
SELECT coalesce(dt, 'ALL') AS day_or_total,
       count(first_response_s) AS chats_with_response,
       round(avg(first_response_s), 1) AS avg_first_response_s,
       quantile_cont(first_response_s, 0.5) AS p50_first_response_s,
       quantile_cont(first_response_s, 0.9) AS p90_first_response_s
FROM responses
GROUP BY ROLLUP (dt)
ORDER BY 1
`,
    ),
  },
  {
    name: 'message_search',
    description:
      "Full-text search in message texts: chats with at least one message containing the search term (case-insensitive substring, no wildcards). EDIT the literal 'refund' in the params CTE at the top of the query to search for something else.",
    ...both(
      `
WITH params AS (
  -- EDIT HERE: the search term (case-insensitive substring of a message text)
  SELECT lower('refund') AS term
),
${LATEST_CTE},
hits AS (
  SELECT l.dt,
         l.id,
         l.visitor_name,
         filter(l.messages, m -> strpos(lower(m.text), p.term) > 0) AS matched
  FROM latest l
  CROSS JOIN params p
)
SELECT dt,
       id,
       visitor_name,
       cardinality(matched) AS matching_messages,
       element_at(matched, 1).text AS first_match
FROM hits
WHERE cardinality(matched) > 0
ORDER BY dt, id
`,
      `
WITH params AS (
  -- EDIT HERE: the search term (case-insensitive substring of a message text)
  SELECT lower('refund') AS term
),
${LATEST_CTE},
hits AS (
  SELECT l.dt,
         l.id,
         l.visitor_name,
         list_filter(l.messages, lambda m: strpos(lower(m.text), p.term) > 0) AS matched
  FROM latest l
  CROSS JOIN params p
)
SELECT dt,
       id,
       visitor_name,
       len(matched) AS matching_messages,
       matched[1].text AS first_match
FROM hits
WHERE len(matched) > 0
ORDER BY dt, id
`,
    ),
  },
  {
    name: 'latest_copy_per_chat',
    description:
      'Every chat once: the copy with the greatest _archived_at (then _run_id, _page) across re-archives, all columns, plus copies = how many rows the lake holds for that chat id. Use as the source of a CTAS/view of deduplicated chats.',
    ...same(`
SELECT *
FROM (
  SELECT c.*,
         row_number() OVER (
           PARTITION BY c.id
           ORDER BY c."_archived_at" DESC, c."_run_id" DESC, c."_page" DESC
         ) AS copy_rank,
         count(*) OVER (PARTITION BY c.id) AS copies
  FROM chats c
) ranked
WHERE copy_rank = 1
ORDER BY dt, id
`),
  },
  {
    name: 'chats_with_variable',
    description:
      "Chats carrying a given variable key in custom_variables, prechat_survey or integration_variables (case-insensitive exact key match), with its value. EDIT the literal 'customer_login' in the params CTE to look for another key.",
    ...both(
      `
WITH params AS (
  -- EDIT HERE: the variable key (case-insensitive exact match)
  SELECT lower('customer_login') AS var_key
),
${LATEST_CTE},
vars AS (
  SELECT l.dt, l.id, l.visitor_name, 'custom_variables' AS source, v.key AS var_key, v.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.custom_variables) AS v (key, value)
  UNION ALL
  SELECT l.dt, l.id, l.visitor_name, 'prechat_survey' AS source, s.key AS var_key, s.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.prechat_survey) AS s (key, value, survey_id)
  UNION ALL
  SELECT l.dt, l.id, l.visitor_name, 'integration_variables' AS source, i.key AS var_key, i.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.integration_variables) AS i (key, value)
)
SELECT vars.dt, vars.id, vars.visitor_name, vars.source, vars.var_key, vars.var_value
FROM vars
CROSS JOIN params p
WHERE lower(vars.var_key) = p.var_key
ORDER BY vars.dt, vars.id, vars.source
`,
      `
WITH params AS (
  -- EDIT HERE: the variable key (case-insensitive exact match)
  SELECT lower('customer_login') AS var_key
),
${LATEST_CTE},
vars AS (
  SELECT l.dt, l.id, l.visitor_name, 'custom_variables' AS source, v.kv.key AS var_key, v.kv.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.custom_variables) AS v (kv)
  UNION ALL
  SELECT l.dt, l.id, l.visitor_name, 'prechat_survey' AS source, s.kv.key AS var_key, s.kv.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.prechat_survey) AS s (kv)
  UNION ALL
  SELECT l.dt, l.id, l.visitor_name, 'integration_variables' AS source, i.kv.key AS var_key, i.kv.value AS var_value
  FROM latest l CROSS JOIN UNNEST(l.integration_variables) AS i (kv)
)
SELECT vars.dt, vars.id, vars.visitor_name, vars.source, vars.var_key, vars.var_value
FROM vars
CROSS JOIN params p
WHERE lower(vars.var_key) = p.var_key
ORDER BY vars.dt, vars.id, vars.source
`,
    ),
  },
  {
    name: 'chats_per_group',
    description: 'Chats and missed chats per LiveChat group id (UNNEST of the reserved-word column "group").',
    ...same(`
WITH ${LATEST_CTE}
SELECT g.group_id,
       count(DISTINCT l.id) AS chats,
       count(DISTINCT CASE WHEN l.type = 'missed_chat' THEN l.id END) AS missed_chats
FROM latest l
CROSS JOIN UNNEST(l."group") AS g (group_id)
GROUP BY g.group_id
ORDER BY 1
`),
  },
  {
    name: 'archive_runs',
    description:
      'Archiver bookkeeping per _run_id: rows written, distinct chats, partitions touched, highest page, first and last _archived_at. All rows, no dedup.',
    ...same(`
SELECT "_run_id" AS run_id,
       min("_archived_at") AS first_archived_at,
       max("_archived_at") AS last_archived_at,
       count(*) AS rows_written,
       count(DISTINCT id) AS distinct_chats,
       count(DISTINCT dt) AS partitions,
       max("_page") AS max_page
FROM chats
GROUP BY "_run_id"
ORDER BY first_archived_at, run_id
`),
  },
  {
    name: 'duplicate_chats',
    description:
      'Chat ids stored more than once (re-archived by several runs or seen on two pages), with copy count, runs, partitions and archive time range. Empty when the lake has no duplicates.',
    ...same(`
SELECT id,
       count(*) AS copies,
       count(DISTINCT "_run_id") AS runs,
       count(DISTINCT dt) AS partitions,
       min("_archived_at") AS first_archived_at,
       max("_archived_at") AS last_archived_at
FROM chats
GROUP BY id
HAVING count(*) > 1
ORDER BY copies DESC, id
`),
  },
];
