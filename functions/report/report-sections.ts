/**
 * The report's sections: for each, a title, one sentence on what it shows, a Vega-Lite chart
 * and the same numbers as a table (the page must be readable without the chart's colours).
 */
import type { TopLevelSpec } from 'vega-lite';
import {
  chatsPerDayChart,
  completenessChart,
  heatmapChart,
  rankingChart,
  ratingChart,
  runLabel,
  runsChart,
  timingChart,
} from './chart-specs.ts';
import { needsAttention, type ReportData } from './report-data.ts';

export type Cell = string | number | null;

export interface Column {
  label: string;
  /** 'count' prints a grouped integer, 'seconds' one decimal, 'text' as is. */
  kind: 'text' | 'count' | 'seconds' | 'percent';
}

export interface Table {
  columns: Column[];
  /** `flagged` rows are marked in text too (⚠ in their first cell), not by colour alone. */
  rows: Array<{ cells: Cell[]; flagged?: boolean }>;
}

export interface ReportSection {
  id: string;
  title: string;
  intro: string;
  /** null when there is nothing to draw; `empty` then says why. */
  chart: TopLevelSpec | null;
  /** Short text alternative of the chart. */
  chartLabel: string;
  table: Table;
  empty?: string;
}

const text = (label: string): Column => ({ label, kind: 'text' });
const count = (label: string): Column => ({ label, kind: 'count' });
const seconds = (label: string): Column => ({ label, kind: 'seconds' });
const percent = (label: string): Column => ({ label, kind: 'percent' });

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const NO_CHATS = 'No chats in this range.';

export function reportSections(data: ReportData): ReportSection[] {
  const hasChats = data.totals.chats > 0;
  const sections: ReportSection[] = [
    completenessSection(data),
    {
      id: 'chats-per-day',
      title: 'Chats per day',
      intro: 'Latest copy of each chat per partition day, split into regular chats (type chat) and missed chats.',
      chart: hasChats ? chatsPerDayChart(data.daily) : null,
      chartLabel: 'Stacked bars of regular and missed chats per day',
      table: {
        columns: [text('day'), count('chats'), count('regular'), count('missed'), percent('missed share')],
        rows: data.daily.map((d) => ({
          cells: [d.day, d.total, d.regular, d.missed, d.total > 0 ? (100 * d.missed) / d.total : null],
        })),
      },
      ...(hasChats ? {} : { empty: NO_CHATS }),
    },
    {
      id: 'weekday-hour',
      title: `When chats start: weekday × hour (${data.timeZone})`,
      intro: `Chats by the weekday and hour of their start time in ${data.timeZone}, the zone the runs cut days in; each cell is labelled with its count.`,
      chart: hasChats ? heatmapChart(data.heatmap, data.timeZone) : null,
      chartLabel: 'Heat map of chats by weekday and hour',
      table: {
        columns: [text('weekday'), ...Array.from({ length: 24 }, (_, hour) => count(String(hour).padStart(2, '0')))],
        rows: WEEKDAYS.map((name, index) => ({
          cells: [name, ...data.heatmap.filter((cell) => cell.weekday === index + 1).map((cell) => cell.chats)],
        })),
      },
      ...(hasChats ? {} : { empty: NO_CHATS }),
    },
    {
      id: 'agents',
      title: 'Chats per agent',
      intro: `Distinct chats each agent took part in (a transferred chat counts for every agent in it); ${data.totals.agents} agents.`,
      chart: data.agents.length > 0 ? rankingChart(data.agents) : null,
      chartLabel: 'Bars of chats per agent',
      table: {
        columns: [text('agent'), text('e-mail'), count('chats')],
        rows: data.agents.map((a) => ({ cells: [a.name, a.email, a.chats] })),
      },
      ...(data.agents.length > 0 ? {} : { empty: 'No chat with an agent in this range.' }),
    },
    {
      id: 'ratings',
      title: 'Rating share over time',
      intro: 'Share of good, bad and not rated among regular chats per day (missed chats cannot be rated).',
      chart: data.totals.regular > 0 ? ratingChart(data.daily) : null,
      chartLabel: 'Stacked 100% bars of good, not rated and bad chats per day',
      table: {
        columns: [
          text('day'),
          count('good'),
          count('bad'),
          count('not rated'),
          percent('good share'),
          percent('bad share'),
        ],
        rows: data.daily.map((d) => ({
          cells: [
            d.day,
            d.ratedGood,
            d.ratedBad,
            d.notRated,
            d.regular > 0 ? (100 * d.ratedGood) / d.regular : null,
            d.regular > 0 ? (100 * d.ratedBad) / d.regular : null,
          ],
        })),
      },
      ...(data.totals.regular > 0 ? {} : { empty: 'No regular chat in this range.' }),
    },
    {
      id: 'timing',
      title: 'First response time and duration',
      intro:
        'Per day, the median (p50) and 90th percentile (p90) of regular chats: seconds from the visitor’s first message to the first agent message after it, and chat duration. Exact interpolated percentiles, as the named queries on DuckDB.',
      chart: data.totals.regular > 0 ? timingChart(data.daily) : null,
      chartLabel: 'Lines of p50 and p90 first response time and duration per day',
      table: {
        columns: [
          text('day'),
          count('answered'),
          seconds('first response p50'),
          seconds('first response p90'),
          count('with duration'),
          seconds('duration p50'),
          seconds('duration p90'),
        ],
        rows: data.daily.map((d) => ({
          cells: [
            d.day,
            d.withResponse,
            d.firstResponseP50,
            d.firstResponseP90,
            d.withDuration,
            d.durationP50,
            d.durationP90,
          ],
        })),
      },
      ...(data.totals.regular > 0 ? {} : { empty: 'No regular chat in this range.' }),
    },
  ];
  if (data.tags) sections.push(rankingSection('tags', 'Tags', 'tag', 'Distinct chats per tag.', data.tags));
  if (data.countries) {
    sections.push(
      rankingSection('countries', 'Visitor countries', 'country', 'Chats per visitor country.', data.countries),
    );
  }
  sections.push(runsSection(data));
  return sections;
}

function completenessSection(data: ReportData): ReportSection {
  const notComplete = data.completeness.filter((d) => needsAttention(d.status)).length;
  return {
    id: 'completeness',
    title: 'Completeness per day',
    intro: `Bars: distinct chats in the lake; black tick: the total of the day's latest plan (the named query day_completeness, as in Athena); ✗ marks a day that is short, reported incomplete or not_archived (no plan, no chats: a night that never ran), ! one with duplicate or unplanned extra chats, ? one with chats but no plan to check them against; a day whose files retention removed reads expired (retention) and is not counted (${notComplete} of ${data.completeness.length} days not complete).`,
    chart: data.completeness.length > 0 ? completenessChart(data.completeness) : null,
    chartLabel: `Archived versus expected chats per day; ${notComplete} days not complete`,
    table: {
      columns: [text('day'), count('expected'), count('archived'), count('duplicates'), text('status')],
      rows: data.completeness.map((d) => ({
        cells: [d.day, d.expected, d.archived, d.duplicates, d.problem ? `${d.status}: ${d.problem}` : d.status],
        flagged: needsAttention(d.status),
      })),
    },
    ...(data.completeness.length > 0 ? {} : { empty: 'No day in this range.' }),
  };
}

function rankingSection(
  id: string,
  title: string,
  label: string,
  intro: string,
  rows: Array<{ name: string; chats: number }>,
): ReportSection {
  return {
    id,
    title,
    intro,
    chart: rows.length > 0 ? rankingChart(rows) : null,
    chartLabel: `Bars of chats per ${label}`,
    table: { columns: [text(label), count('chats')], rows: rows.map((r) => ({ cells: [r.name, r.chats] })) },
    ...(rows.length > 0 ? {} : { empty: `No ${label} in this range.` }),
  };
}

function runsSection(data: ReportData): ReportSection {
  return {
    id: 'runs',
    title: 'Run history',
    intro:
      'Archive runs that wrote into this range: rows each left in the lake, and pages, retries and drift (days re-archived because chats moved while they were paged) from the run manifests; n/a for runs known only from the lake or their day plans.',
    chart: data.runs.length > 0 ? runsChart(data.runs) : null,
    chartLabel: 'Bars of pages, retries and drift per run',
    table: {
      columns: [
        text('run'),
        text('started (UTC)'),
        count('days'),
        count('pages'),
        count('chats written'),
        count('retries'),
        count('drift'),
        count('rows in lake'),
        text('status'),
      ],
      rows: data.runs.map((r) => ({
        cells: [
          r.runId,
          runLabel(r),
          r.days,
          r.pages,
          r.chatsWritten,
          r.retries,
          r.drift,
          r.rowsInLake,
          r.complete === null ? 'no manifest' : r.complete ? 'complete' : 'incomplete',
        ],
        flagged: r.complete === false,
      })),
    },
    ...(data.runs.length > 0 ? {} : { empty: 'No archive run wrote into this range.' }),
  };
}
