/**
 * The report's numbers, computed by DuckDB over the `chats` view of duckdb-lake.ts.
 *
 * One scan of the lake: every copy of each chat in the range and in the previous period (`period`
 * column) is reduced to the few columns the
 * report needs, with its first response time and rank (the named queries' rule for
 * the latest copy: greatest `_archived_at`, then `_run_id`, then `_page`), into a temporary
 * table; every section then aggregates that table in memory (the latest copies, except the
 * rows each run wrote). Definitions follow NAMED_QUERIES, so the
 * report's numbers equal `chats_per_day`, `rating_share`, `duration_stats` and
 * `first_response_time` over the same days (the browser test checks this).
 */
import { CHAT_SCHEMA, type LakeField } from '#lake/chat-columns.ts';
import { DAY_PLANS_TABLE } from '#lake/day-plan-table.ts';
import { type LocalLake, sqlString } from '#lake/duckdb-lake.ts';
import { DUCKDB, minOf } from '#lake/sql-dialect.ts';
import type {
  AgentRow,
  DailyChats,
  Figures,
  GroupRow,
  HeatmapCell,
  NamedCount,
  SurveyQuestion,
} from './report-data.ts';

/** Agents, groups, tags and countries beyond this many are summed into one "others" row. */
export const TOP_N = 20;
/** A survey question whose answers take at most this many values (each given at least twice on average) is a choice. */
export const MAX_CHOICES = 12;

export interface ChatAggregates {
  daily: DailyChats[];
  heatmap: HeatmapCell[];
  missedHeatmap: HeatmapCell[];
  headline: { current: Figures; previous: Figures | null };
  agents: AgentRow[];
  agentCount: number;
  groups: GroupRow[];
  surveys: SurveyQuestion[];
  tags?: NamedCount[];
  countries?: NamedCount[];
  /** Rows per `_run_id` in the range (every copy) and the first time that run wrote one. */
  rowsPerRun: Map<string, { rows: number; firstArchivedAt: string | null }>;
}

/** Columns that exist only once the schema has them (the real v2 chat object's `tags`, `visitor.country`). */
export function optionalColumns(schema: readonly LakeField[] = CHAT_SCHEMA): { tags?: string; country?: string } {
  const tags = schema.find((f) => f.name === 'tags');
  const visitor = schema.find((f) => f.name === 'visitor');
  const country = visitor?.type.kind === 'struct' ? visitor.type.fields.find((f) => f.name === 'country') : undefined;
  return {
    ...(tags?.type.kind === 'array' && tags.type.element.kind === 'string' ? { tags: 'tags' } : {}),
    ...(country?.type.kind === 'string' ? { country: 'visitor.country' } : {}),
  };
}

/** Every copy in the range and the previous period, reduced to the report's columns (one scan of the lake). */
const COPIES_TABLE = 'report_copies';
/** The latest copy of each chat, both periods. */
const LATEST = `(SELECT * FROM ${COPIES_TABLE} WHERE copy_rank = 1)`;
/** The latest copy of each chat of the report's range. */
const CURRENT = `(SELECT * FROM ${COPIES_TABLE} WHERE copy_rank = 1 AND period = 'current')`;

export interface AggregateRange {
  from: string;
  to: string;
  /** The previous period's first day (it ends the day before `from`); absent: no comparison. */
  previousFrom?: string;
}

export async function aggregateChats(
  lake: LocalLake,
  range: AggregateRange,
  timeZone: string,
  columns = optionalColumns(),
): Promise<ChatAggregates> {
  await lake.query(materializeSql(range, columns));
  try {
    // One connection runs one statement at a time.
    const daily = await lake.query<DailyRow>(DAILY_SQL);
    const heatmap = await lake.query<HeatmapRow>(heatmapSql(timeZone));
    const headline = await lake.query<FiguresRow & { period: string }>(figuresSql('period', LATEST, ''));
    const agents = await lake.query<FiguresRow & { period: string; email: string; name: string }>(AGENTS_SQL);
    const groups = await lake.query<FiguresRow & { period: string; group_id: number }>(GROUPS_SQL);
    const surveys = await lake.query<SurveyRow>(SURVEY_SQL);
    const rowsPerRun = await lake.query<{ run_id: string; rows: number; first_archived_at: string | null }>(
      ROWS_PER_RUN_SQL,
    );
    const compare = range.previousFrom !== undefined;
    const byPeriod = (period: string) => headline.find((row) => row.period === period);
    const result: ChatAggregates = {
      daily: daily.map(toDaily),
      heatmap: fullWeek(heatmap.map((cell) => ({ weekday: cell.weekday, hour: cell.hour, chats: cell.chats }))),
      missedHeatmap: fullWeek(heatmap.map((cell) => ({ weekday: cell.weekday, hour: cell.hour, chats: cell.missed }))),
      headline: {
        current: toFigures(byPeriod('current')),
        previous: compare ? toFigures(byPeriod('previous')) : null,
      },
      agents: topAgents(agents, compare),
      agentCount: new Set(agents.filter((row) => row.period === 'current').map((row) => row.email)).size,
      groups: topGroups(groups, compare),
      surveys: surveyQuestions(surveys),
      rowsPerRun: new Map(
        rowsPerRun.map((row) => [row.run_id, { rows: row.rows, firstArchivedAt: row.first_archived_at }]),
      ),
    };
    if (columns.tags) {
      result.tags = topWithOthers(await lake.query<NamedCount>(TAGS_SQL), (n, chats) => ({
        name: `${n} other tags`,
        chats,
      }));
    }
    if (columns.country) {
      result.countries = topWithOthers(await lake.query<NamedCount>(COUNTRIES_SQL), (n, chats) => ({
        name: `${n} other countries`,
        chats,
      }));
    }
    return result;
  } finally {
    await lake.query(`DROP TABLE IF EXISTS ${COPIES_TABLE}`);
  }
}

function materializeSql(range: AggregateRange, columns: { tags?: string; country?: string }): string {
  const extra = [
    columns.tags ? `${columns.tags} AS tags` : null,
    columns.country ? `${columns.country} AS country` : null,
  ].filter(Boolean);
  const first = range.previousFrom ?? range.from;
  // first_response_s: as the named query first_response_time (the first agent message at or after the
  // visitor's first message, else after the start; messages without a timestamp skipped), regular chats only.
  const timestamps = (predicate: string) =>
    minOf(DUCKDB, DUCKDB.transform(DUCKDB.filter('messages', 'm', predicate), 'm', 'm."timestamp"'));
  // Each copy is reduced to small columns before the window, so the sort never carries messages.
  return `CREATE OR REPLACE TEMP TABLE ${COPIES_TABLE} AS
WITH asked AS (
  SELECT *, coalesce(${timestamps("m.user_type = 'visitor'")}, started_timestamp) AS asked_at
  FROM chats
  WHERE dt BETWEEN ${sqlString(first)} AND ${sqlString(range.to)}
    AND month BETWEEN ${sqlString(first.slice(0, 7))} AND ${sqlString(range.to.slice(0, 7))}
),
slim AS (
  SELECT CASE WHEN dt >= ${sqlString(range.from)} THEN 'current' ELSE 'previous' END AS period,
         dt, id, type, rate, duration, started_timestamp, agents, "group" AS groups,
         prechat_survey, postchat_survey, "_archived_at", "_run_id", "_page",
         CASE WHEN type = 'chat' THEN
           ${timestamps(`m.user_type = 'agent' AND m."timestamp" >= asked_at`)} - asked_at
         END AS first_response_s${extra.length > 0 ? `,\n         ${extra.join(',\n         ')}` : ''}
  FROM asked
),
ranked AS (
  SELECT *,
         row_number() OVER (
           PARTITION BY id
           ORDER BY "_archived_at" DESC, "_run_id" DESC, "_page" DESC
         ) AS copy_rank
  FROM slim
)
SELECT * FROM ranked`;
}

interface DailyRow {
  day: string;
  total: number;
  regular: number;
  missed: number;
  rated_good: number;
  rated_bad: number;
  not_rated: number;
  with_response: number;
  frt_p50: number | null;
  frt_p90: number | null;
  with_duration: number;
  duration_p50: number | null;
  duration_p90: number | null;
}

// Rating and duration as rating_share and duration_stats: regular chats only; anything but
// rated_good / rated_bad counts as not rated.
const DAILY_SQL = `
SELECT dt AS day,
       count(*) AS total,
       count_if(type = 'chat') AS regular,
       count_if(type = 'missed_chat') AS missed,
       count_if(type = 'chat' AND rate = 'rated_good') AS rated_good,
       count_if(type = 'chat' AND rate = 'rated_bad') AS rated_bad,
       count_if(type = 'chat' AND rate IS DISTINCT FROM 'rated_good' AND rate IS DISTINCT FROM 'rated_bad') AS not_rated,
       count(first_response_s) AS with_response,
       quantile_cont(first_response_s, 0.5) AS frt_p50,
       quantile_cont(first_response_s, 0.9) AS frt_p90,
       count(duration) FILTER (WHERE type = 'chat') AS with_duration,
       quantile_cont(duration, 0.5) FILTER (WHERE type = 'chat') AS duration_p50,
       quantile_cont(duration, 0.9) FILTER (WHERE type = 'chat') AS duration_p90
FROM ${CURRENT}
GROUP BY dt
ORDER BY dt`;

interface FiguresRow {
  chats: number;
  regular: number;
  missed: number;
  rated_good: number;
  rated_bad: number;
  with_response: number;
  frt_p50: number | null;
  frt_p90: number | null;
  duration_p50: number | null;
}

/**
 * The headline figures per `keys` over `source` (joined by `join`): distinct chats, so a chat
 * unnested into several rows of one key still counts once; percentiles over those rows.
 */
function figuresSql(keys: string, source: string, join: string): string {
  return `
SELECT ${keys},
       count(DISTINCT r.id) AS chats,
       count(DISTINCT r.id) FILTER (WHERE r.type = 'chat') AS regular,
       count(DISTINCT r.id) FILTER (WHERE r.type = 'missed_chat') AS missed,
       count(DISTINCT r.id) FILTER (WHERE r.type = 'chat' AND r.rate = 'rated_good') AS rated_good,
       count(DISTINCT r.id) FILTER (WHERE r.type = 'chat' AND r.rate = 'rated_bad') AS rated_bad,
       count(DISTINCT r.id) FILTER (WHERE r.first_response_s IS NOT NULL) AS with_response,
       quantile_cont(r.first_response_s, 0.5) AS frt_p50,
       quantile_cont(r.first_response_s, 0.9) AS frt_p90,
       quantile_cont(r.duration, 0.5) FILTER (WHERE r.type = 'chat') AS duration_p50
FROM ${source} AS r
${join}
GROUP BY ALL`;
}

// As chats_per_agent_per_day: a transferred chat counts for every agent in it, and so do its times.
const AGENTS_SQL = `${figuresSql(
  'r.period, a.agent.email AS email, max(a.agent.display_name) AS name',
  LATEST,
  'CROSS JOIN UNNEST(r.agents) AS a (agent)',
).replace('GROUP BY ALL', 'GROUP BY r.period, a.agent.email')}
ORDER BY chats DESC, email`;

// As chats_per_group: a chat in several groups counts for each.
const GROUPS_SQL = `${figuresSql('r.period, g.group_id', LATEST, 'CROSS JOIN UNNEST(r.groups) AS g (group_id)')}
ORDER BY chats DESC, group_id`;

interface HeatmapRow {
  weekday: number;
  hour: number;
  chats: number;
  missed: number;
}

/** Start times are Unix seconds; timezone() (DuckDB's built-in ICU) gives the wall clock in the lake's zone. */
function heatmapSql(timeZone: string): string {
  const local = `timezone(${sqlString(timeZone)}, to_timestamp(started_timestamp))`;
  return `
SELECT isodow(${local}) AS weekday,
       hour(${local}) AS hour,
       count(*) AS chats,
       count_if(type = 'missed_chat') AS missed
FROM ${CURRENT}
WHERE started_timestamp IS NOT NULL
GROUP BY ALL
ORDER BY 1, 2`;
}

interface SurveyRow {
  form: 'postchat' | 'prechat';
  question: string;
  answer: string;
  chats: number;
}

const surveyOf = (form: string, column: string) => `
SELECT '${form}' AS form, q.answer.key AS question, q.answer.value AS answer, count(DISTINCT r.id) AS chats
FROM ${CURRENT} AS r
CROSS JOIN UNNEST(r.${column}) AS q (answer)
WHERE coalesce(q.answer.value, '') <> '' AND q.answer.key IS NOT NULL
GROUP BY ALL`;

const SURVEY_SQL = `${surveyOf('postchat', 'postchat_survey')}
UNION ALL
${surveyOf('prechat', 'prechat_survey')}
ORDER BY form, question, chats DESC, answer`;

const TAGS_SQL = `
SELECT t.tag AS name, count(DISTINCT r.id) AS chats
FROM ${CURRENT} AS r
CROSS JOIN UNNEST(r.tags) AS t (tag)
GROUP BY t.tag
ORDER BY chats DESC, name`;

const COUNTRIES_SQL = `
SELECT coalesce(nullif(country, ''), '(unknown)') AS name, count(*) AS chats
FROM ${CURRENT}
GROUP BY 1
ORDER BY chats DESC, name`;

/** Every copy counts here: this is what each run wrote, not the deduplicated chats. */
const ROWS_PER_RUN_SQL = `
SELECT "_run_id" AS run_id, count(*) AS rows, min("_archived_at") AS first_archived_at
FROM ${COPIES_TABLE}
WHERE period = 'current'
GROUP BY 1`;

function toDaily(row: DailyRow): DailyChats {
  return {
    day: row.day,
    total: row.total,
    regular: row.regular,
    missed: row.missed,
    ratedGood: row.rated_good,
    ratedBad: row.rated_bad,
    notRated: row.not_rated,
    withResponse: row.with_response,
    firstResponseP50: row.frt_p50,
    firstResponseP90: row.frt_p90,
    withDuration: row.with_duration,
    durationP50: row.duration_p50,
    durationP90: row.duration_p90,
  };
}

/** The figures of a range with no chats (also what the report shows when the lake has none). */
export const NO_CHATS: Figures = {
  chats: 0,
  regular: 0,
  missed: 0,
  ratedGood: 0,
  ratedBad: 0,
  withResponse: 0,
  firstResponseP50: null,
  firstResponseP90: null,
  durationP50: null,
};

function toFigures(row: FiguresRow | undefined): Figures {
  if (!row) return NO_CHATS;
  return {
    chats: row.chats,
    regular: row.regular,
    missed: row.missed,
    ratedGood: row.rated_good,
    ratedBad: row.rated_bad,
    withResponse: row.with_response,
    firstResponseP50: row.frt_p50,
    firstResponseP90: row.frt_p90,
    durationP50: row.duration_p50,
  };
}

/** The TOP_N agents of the range by chats, each with the previous period's figures (zero when absent then). */
function topAgents(rows: Array<FiguresRow & { period: string; email: string; name: string }>, compare: boolean) {
  const previous = new Map(rows.filter((r) => r.period === 'previous').map((r) => [r.email, r]));
  return rows
    .filter((r) => r.period === 'current')
    .slice(0, TOP_N)
    .map(
      (r): AgentRow => ({
        email: r.email,
        name: r.name,
        current: toFigures(r),
        previous: compare ? toFigures(previous.get(r.email)) : null,
      }),
    );
}

function topGroups(rows: Array<FiguresRow & { period: string; group_id: number }>, compare: boolean) {
  const previous = new Map(rows.filter((r) => r.period === 'previous').map((r) => [r.group_id, r]));
  return rows
    .filter((r) => r.period === 'current')
    .slice(0, TOP_N)
    .map(
      (r): GroupRow => ({
        group: r.group_id,
        current: toFigures(r),
        previous: compare ? toFigures(previous.get(r.group_id)) : null,
      }),
    );
}

/**
 * Each question with its answers when they are choices (few values, each given more than once on
 * average); free-text answers (names, e-mails, comments) are counted, never shown.
 */
function surveyQuestions(rows: SurveyRow[]): SurveyQuestion[] {
  const questions = new Map<string, SurveyRow[]>();
  for (const row of rows) {
    const key = `${row.form}\u0000${row.question}`;
    questions.set(key, [...(questions.get(key) ?? []), row]);
  }
  return [...questions.values()].map((answers) => {
    const answered = answers.reduce((sum, row) => sum + row.chats, 0);
    const choices = answers.length <= MAX_CHOICES && answered >= 2 * answers.length;
    return {
      form: answers[0]!.form,
      question: answers[0]!.question,
      answered,
      distinct: answers.length,
      answers: choices ? answers.map((row) => ({ name: row.answer, chats: row.chats })) : null,
    };
  });
}

/** All 7 × 24 cells, zero where no chat started. */
function fullWeek(cells: HeatmapCell[]): HeatmapCell[] {
  const byKey = new Map(cells.map((cell) => [`${cell.weekday}/${cell.hour}`, cell.chats]));
  const out: HeatmapCell[] = [];
  for (let weekday = 1; weekday <= 7; weekday += 1) {
    for (let hour = 0; hour < 24; hour += 1) out.push({ weekday, hour, chats: byKey.get(`${weekday}/${hour}`) ?? 0 });
  }
  return out;
}

function topWithOthers<T extends { chats: number }>(rows: T[], others: (count: number, chats: number) => T): T[] {
  if (rows.length <= TOP_N) return rows;
  const rest = rows.slice(TOP_N);
  return [
    ...rows.slice(0, TOP_N),
    others(
      rest.length,
      rest.reduce((sum, row) => sum + row.chats, 0),
    ),
  ];
}

export interface DayCompletenessRow {
  dt: string;
  expected_chats: number | null;
  archived_chats: number;
  missing: number;
  duplicates: number;
  /** Archived chats the latest pass no longer got from LiveChat (kept in the lake). */
  kept_chats: number;
  /** complete, kept, missing, duplicates, extra or not_planned (see the named query). */
  status: string;
  run_id: string | null;
  planned_at: string | null;
}

export interface PlannedRun {
  runId: string;
  days: number;
  firstPlannedAt: string;
}

/**
 * What the day plans say about the range: the named query `day_completeness` (the latest plan of
 * each day against the chats in the lake, as an operator runs it in Athena) and the runs that planned.
 */
export async function aggregatePlans(
  lake: LocalLake,
  from: string,
  to: string,
): Promise<{ days: DayCompletenessRow[]; runs: PlannedRun[]; timeZones: string[] }> {
  const days = await lake.runNamed('day_completeness', { from, to });
  const zones = await lake.query<{ zone: string }>(`
SELECT DISTINCT timezone AS zone
FROM ${DAY_PLANS_TABLE}
WHERE dt BETWEEN ${sqlString(from)} AND ${sqlString(to)} AND timezone IS NOT NULL
ORDER BY 1`);
  const runs = await lake.query<{ run_id: string; days: number; first_planned_at: string }>(`
SELECT runid AS run_id, count(DISTINCT dt) AS days, min(plannedat) AS first_planned_at
FROM ${DAY_PLANS_TABLE}
WHERE dt BETWEEN ${sqlString(from)} AND ${sqlString(to)}
GROUP BY 1`);
  return {
    days: days as unknown as DayCompletenessRow[],
    runs: runs.map((row) => ({ runId: row.run_id, days: row.days, firstPlannedAt: row.first_planned_at })),
    timeZones: zones.map((row) => row.zone),
  };
}
