/**
 * The report's sections, in the order a support lead reads them: the team, the customers, then
 * the archive's health (the headline row above them is report-html.ts's). Each has a title, one
 * sentence on what it shows, a Vega-Lite chart and the same numbers as a table (the page must
 * read without the chart's colours); every number cell keeps its exact value for `data-value`.
 */
import type { TopLevelSpec } from 'vega-lite';
import { attachmentsSection } from './attachments-section.ts';
import {
  agentsChart,
  chatsPerDayChart,
  completenessChart,
  heatmapChart,
  rankingChart,
  ratingChart,
  runsChart,
  surveyChart,
  timingChart,
} from './chart-specs.ts';
import { type Figures, needsAttention, type ReportData, type SurveyQuestion } from './report-data.ts';
import {
  formatCount,
  formatCountChange,
  formatDay,
  formatDuration,
  formatDurationChange,
  formatInstant,
  formatPercent,
  formatPointsChange,
  share,
} from './report-format.ts';

/** What a table cell shows, and the exact value behind it (a number, a day) for `data-value`. */
export interface Cell {
  text: string;
  value?: number | string | null;
}

export interface Column {
  label: string;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

export interface Table {
  columns: Column[];
  /** `flagged` rows are marked in text too (⚠ in their first cell), not by colour alone. */
  rows: Array<{ cells: Cell[]; flagged?: boolean }>;
}

export type Part = 'team' | 'customers' | 'health';

export const PARTS: Record<Part, string> = {
  team: 'The team',
  customers: 'The customers',
  health: "The archive's health",
};

export interface ReportSection {
  id: string;
  part: Part;
  title: string;
  intro: string;
  /** null when there is nothing to draw; `empty` then says why. */
  chart: TopLevelSpec | null;
  /** Short text alternative of the chart. */
  chartLabel: string;
  table: Table;
  empty?: string;
}

// Cells: the text a reader sees, the exact value a test reads.
const NONE: Cell = { text: '—', value: null };
export const text = (value: string): Cell => ({ text: value });
export const count = (n: number | null): Cell => (n === null ? NONE : { text: formatCount(n), value: n });
export const duration = (s: number | null): Cell => (s === null ? NONE : { text: formatDuration(s), value: s });
export const percent = (p: number | null): Cell => (p === null ? NONE : { text: formatPercent(p), value: p });
export const day = (d: string): Cell => ({ text: formatDay(d), value: d });
const countChange = (current: number, previous: number | undefined): Cell =>
  previous === undefined ? NONE : { text: formatCountChange(current, previous), value: current - previous };
const pointsChange = (current: number | null, previous: number | null | undefined): Cell =>
  current === null || previous === null || previous === undefined
    ? NONE
    : { text: formatPointsChange(current - previous), value: current - previous };
const durationChange = (current: number | null, previous: number | null | undefined): Cell =>
  current === null || previous === null || previous === undefined
    ? NONE
    : { text: formatDurationChange(current - previous), value: current - previous };

const label = (name: string): Column => ({ label: name });
const numeric = (name: string): Column => ({ label: name, numeric: true });

/** Good among rated regular chats, in percent: LiveChat's satisfaction. */
export const satisfaction = (f: Figures) => share(f.ratedGood, f.ratedGood + f.ratedBad);
export const missedShare = (f: Figures) => share(f.missed, f.chats);

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const NO_CHATS = 'No chats in this range.';

export function reportSections(data: ReportData): ReportSection[] {
  const sections: ReportSection[] = [
    agentsSection(data),
    groupsSection(data),
    timingSection(data),
    ratingsSection(data),
    chatsPerDaySection(data),
    heatmapSection(data, 'weekday-hour'),
    heatmapSection(data, 'missed-hours'),
    surveySection(data, 'postchat'),
    surveySection(data, 'prechat'),
  ];
  if (data.tags) sections.push(rankingSection('tags', 'Tags', 'tag', 'Distinct chats per tag.', data.tags));
  if (data.countries) {
    sections.push(
      rankingSection('countries', 'Visitor countries', 'country', 'Chats per visitor country.', data.countries),
    );
  }
  sections.push(completenessSection(data));
  if (data.files) sections.push(attachmentsSection(data.files));
  sections.push(runsSection(data));
  return sections;
}

function agentsSection(data: ReportData): ReportSection {
  const compare = data.headline.previous !== null;
  const missedKnown = data.agents.some((a) => a.current.missed > 0 || (a.previous?.missed ?? 0) > 0);
  return {
    id: 'agents',
    part: 'team',
    title: 'Agents',
    intro: `Per agent (a transferred chat counts for every agent in it, and so do its times): chats${compare ? ' against the previous period' : ''}, satisfaction (rated good among rated chats), first response time and chat duration of their regular chats${missedKnown ? ', and the missed chats routed to them' : '; the chats do not say which agent a missed chat was routed to'}. ${data.totals.agents} agents${data.agents.length < data.totals.agents ? `, the ${data.agents.length} busiest shown` : ''}.`,
    chart: data.agents.length > 0 ? agentsChart(data.agents) : null,
    chartLabel: `Bars of chats per agent${compare ? ', with a tick at the previous period' : ''}`,
    table: {
      columns: [
        label('agent'),
        numeric('chats'),
        ...(compare ? [numeric('previous'), numeric('change')] : []),
        numeric('satisfaction'),
        ...(compare ? [numeric('previous'), numeric('change')] : []),
        numeric('rated good'),
        numeric('rated bad'),
        numeric('first response p50'),
        numeric('first response p90'),
        ...(compare ? [numeric('previous p50'), numeric('change')] : []),
        numeric('duration p50'),
        ...(missedKnown ? [numeric('missed')] : []),
      ],
      rows: data.agents.map((a) => ({
        cells: [
          // Two agents may share a name: the e-mail tells them apart (and is the key tests read).
          { text: a.name, value: a.email },
          count(a.current.chats),
          ...(compare ? [count(a.previous?.chats ?? 0), countChange(a.current.chats, a.previous?.chats)] : []),
          percent(satisfaction(a.current)),
          ...(compare
            ? [
                percent(a.previous ? satisfaction(a.previous) : null),
                pointsChange(satisfaction(a.current), a.previous ? satisfaction(a.previous) : null),
              ]
            : []),
          count(a.current.ratedGood),
          count(a.current.ratedBad),
          duration(a.current.firstResponseP50),
          duration(a.current.firstResponseP90),
          ...(compare
            ? [
                duration(a.previous?.firstResponseP50 ?? null),
                durationChange(a.current.firstResponseP50, a.previous?.firstResponseP50),
              ]
            : []),
          duration(a.current.durationP50),
          ...(missedKnown ? [count(a.current.missed)] : []),
        ],
      })),
    },
    ...(data.agents.length > 0 ? {} : { empty: 'No chat with an agent in this range.' }),
  };
}

function groupsSection(data: ReportData): ReportSection {
  const compare = data.headline.previous !== null;
  return {
    id: 'groups',
    part: 'team',
    title: 'Groups',
    intro:
      'The headline figures per LiveChat group (a chat in several groups counts for each): chats, missed share, first response median and satisfaction.',
    chart:
      data.groups.length > 0
        ? rankingChart(data.groups.map((g) => ({ name: `group ${g.group}`, chats: g.current.chats })))
        : null,
    chartLabel: 'Bars of chats per group',
    table: {
      columns: [
        label('group'),
        numeric('chats'),
        ...(compare ? [numeric('change')] : []),
        numeric('missed share'),
        numeric('first response p50'),
        numeric('satisfaction'),
        ...(compare ? [numeric('change')] : []),
      ],
      rows: data.groups.map((g) => ({
        cells: [
          { text: String(g.group), value: g.group },
          count(g.current.chats),
          ...(compare ? [countChange(g.current.chats, g.previous?.chats)] : []),
          percent(missedShare(g.current)),
          duration(g.current.firstResponseP50),
          percent(satisfaction(g.current)),
          ...(compare ? [pointsChange(satisfaction(g.current), g.previous ? satisfaction(g.previous) : null)] : []),
        ],
      })),
    },
    ...(data.groups.length > 0 ? {} : { empty: 'No chat names a group in this range.' }),
  };
}

/** A section of one chart over `data.daily` and a table with a row a day (timing, ratings, chats per day). */
function dailySection(
  data: ReportData,
  section: Pick<ReportSection, 'id' | 'part' | 'title' | 'intro' | 'chartLabel'> & {
    /** Whether the range has a chat to draw; otherwise `empty` says why. */
    has: boolean;
    chart: (daily: ReportData['daily']) => TopLevelSpec;
    /** The numeric columns after the day. */
    columns: string[];
    cells: (d: ReportData['daily'][number]) => Cell[];
    empty: string;
  },
): ReportSection {
  const { has, chart, columns, cells, empty, ...heading } = section;
  return {
    ...heading,
    chart: has ? chart(data.daily) : null,
    table: {
      columns: [label('day'), ...columns.map(numeric)],
      rows: data.daily.map((d) => ({ cells: [day(d.day), ...cells(d)] })),
    },
    ...(has ? {} : { empty }),
  };
}

function timingSection(data: ReportData): ReportSection {
  return dailySection(data, {
    id: 'timing',
    part: 'team',
    title: 'First response and chat duration per day',
    intro:
      'Per day, the median (p50) and 90th percentile (p90) of regular chats: time from the visitor’s first message to the first agent message after it, and chat duration (exact interpolated percentiles, as the named queries on DuckDB).',
    has: data.totals.regular > 0,
    chart: timingChart,
    chartLabel: 'Lines of p50 and p90 first response time and duration per day',
    columns: ['answered', 'first response p50', 'first response p90', 'with duration', 'duration p50', 'duration p90'],
    cells: (d) => [
      count(d.withResponse),
      duration(d.firstResponseP50),
      duration(d.firstResponseP90),
      count(d.withDuration),
      duration(d.durationP50),
      duration(d.durationP90),
    ],
    empty: 'No regular chat in this range.',
  });
}

function ratingsSection(data: ReportData): ReportSection {
  return dailySection(data, {
    id: 'ratings',
    part: 'team',
    title: 'Ratings per day',
    intro: 'Share of good, bad and not rated among regular chats per day (missed chats cannot be rated).',
    has: data.totals.regular > 0,
    chart: ratingChart,
    chartLabel: 'Stacked 100% bars of good, not rated and bad chats per day',
    columns: ['good', 'bad', 'not rated', 'good share', 'bad share'],
    cells: (d) => [
      count(d.ratedGood),
      count(d.ratedBad),
      count(d.notRated),
      percent(share(d.ratedGood, d.regular)),
      percent(share(d.ratedBad, d.regular)),
    ],
    empty: 'No regular chat in this range.',
  });
}

function chatsPerDaySection(data: ReportData): ReportSection {
  return dailySection(data, {
    id: 'chats-per-day',
    part: 'customers',
    title: 'Chats per day',
    intro: 'Chats per day, regular chats (an agent answered the chat) and missed chats (nobody did).',
    has: data.totals.chats > 0,
    chart: chatsPerDayChart,
    chartLabel: 'Stacked bars of regular and missed chats per day',
    columns: ['chats', 'regular', 'missed', 'missed share'],
    cells: (d) => [count(d.total), count(d.regular), count(d.missed), percent(share(d.missed, d.total))],
    empty: NO_CHATS,
  });
}

function heatmapSection(data: ReportData, id: 'weekday-hour' | 'missed-hours'): ReportSection {
  const missed = id === 'missed-hours';
  const cells = missed ? data.missedHeatmap : data.heatmap;
  const has = missed ? data.totals.missed > 0 : data.totals.chats > 0;
  return {
    id,
    part: 'customers',
    title: missed
      ? `Missed chats by weekday and hour (${data.timeZone})`
      : `When chats start: weekday × hour (${data.timeZone})`,
    intro: missed
      ? `Missed chats by the weekday and hour they started in ${data.timeZone}: when visitors came and nobody was there.`
      : `Chats by the weekday and hour of their start in ${data.timeZone}, the zone the runs cut days in; each cell is labelled with its count.`,
    chart: has ? heatmapChart(cells, data.timeZone, missed ? 'missed' : 'all') : null,
    chartLabel: missed ? 'Heat map of missed chats by weekday and hour' : 'Heat map of chats by weekday and hour',
    table: {
      columns: [label('weekday'), ...Array.from({ length: 24 }, (_, hour) => numeric(String(hour).padStart(2, '0')))],
      rows: WEEKDAYS.map((name, index) => ({
        cells: [text(name), ...cells.filter((cell) => cell.weekday === index + 1).map((cell) => count(cell.chats))],
      })),
    },
    ...(has ? {} : { empty: missed ? 'No missed chat in this range.' : NO_CHATS }),
  };
}

function surveySection(data: ReportData, form: SurveyQuestion['form']): ReportSection {
  const questions = data.surveys.filter((q) => q.form === form);
  const choices = questions.filter((q) => q.answers !== null);
  const post = form === 'postchat';
  const freeText = questions.filter((q) => q.answers === null);
  const freeNote =
    freeText.length > 0
      ? ` Free-text questions are counted, never shown: ${freeText.map((q) => `“${q.question}” (${formatCount(q.answered)} answers)`).join(', ')}.`
      : '';
  return {
    id: post ? 'survey' : 'prechat',
    part: 'customers',
    title: post ? 'Post-chat survey' : 'Pre-chat form choices',
    intro: `${post ? 'Answers to the post-chat survey' : 'Answers to the pre-chat form questions whose answers are choices'}: chats per answer of each question.${choices.length > 0 ? freeNote : ''}`,
    chart: choices.length > 0 ? surveyChart(choices) : null,
    chartLabel: `Bars of chats per answer, one panel per question`,
    table: {
      columns: [label('question'), label('answer'), numeric('chats'), numeric('share of answers')],
      rows: choices.flatMap((q) =>
        (q.answers ?? []).map((a) => ({
          cells: [text(q.question), text(a.name), count(a.chats), percent(share(a.chats, q.answered))],
        })),
      ),
    },
    ...(choices.length > 0
      ? {}
      : {
          empty: post
            ? `No post-chat survey answer with choices in this range.${freeNote}`
            : `No pre-chat question with choices in this range (names, e-mails and questions are free text).${freeNote}`,
        }),
  };
}

function rankingSection(
  id: string,
  title: string,
  name: string,
  intro: string,
  rows: Array<{ name: string; chats: number }>,
): ReportSection {
  return {
    id,
    part: 'customers',
    title,
    intro,
    chart: rows.length > 0 ? rankingChart(rows) : null,
    chartLabel: `Bars of chats per ${name}`,
    table: {
      columns: [label(name), numeric('chats')],
      rows: rows.map((r) => ({ cells: [text(r.name), count(r.chats)] })),
    },
    ...(rows.length > 0 ? {} : { empty: `No ${name} in this range.` }),
  };
}

function completenessSection(data: ReportData): ReportSection {
  const notComplete = data.completeness.filter((d) => needsAttention(d.status)).length;
  return {
    id: 'completeness',
    part: 'health',
    title: 'Completeness per day',
    intro: `Bars: distinct chats in the lake; black tick: the total of the day's latest plan (the named query day_completeness, as in Athena); ✗ marks a day that is short, reported incomplete or not_archived (no plan, no chats: a night that never ran), ! one with duplicate or unplanned extra chats, ? one with chats but no plan to check them against; a day whose files retention removed reads expired (retention) and is not counted (${notComplete} of ${data.completeness.length} days not complete).`,
    chart: data.completeness.length > 0 ? completenessChart(data.completeness) : null,
    chartLabel: `Archived versus expected chats per day; ${notComplete} days not complete`,
    table: {
      columns: [label('day'), numeric('expected'), numeric('archived'), numeric('duplicates'), label('status')],
      rows: data.completeness.map((d) => ({
        cells: [
          day(d.day),
          count(d.expected),
          count(d.archived),
          count(d.duplicates),
          { text: d.problem ? `${d.status}: ${d.problem}` : d.status, value: d.status },
        ],
        flagged: needsAttention(d.status),
      })),
    },
    ...(data.completeness.length > 0 ? {} : { empty: 'No day in this range.' }),
  };
}

function runsSection(data: ReportData): ReportSection {
  return {
    id: 'runs',
    part: 'health',
    title: 'Run history',
    intro: `Archive runs that wrote into this range (started, in ${data.timeZone}): rows each left in the lake, and pages, retries and drift (days re-archived because chats moved while they were paged) from the run manifests; n/a for runs known only from the lake or their day plans.`,
    chart: data.runs.length > 0 ? runsChart(data.runs, data.timeZone) : null,
    chartLabel: 'Bars of pages, retries and drift per run',
    table: {
      columns: [
        label('run'),
        label(`started (${data.timeZone})`),
        numeric('days'),
        numeric('pages'),
        numeric('chats written'),
        numeric('retries'),
        numeric('drift'),
        numeric('rows in lake'),
        label('status'),
      ],
      rows: data.runs.map((r) => ({
        cells: [
          text(r.runId),
          r.startedAt ? { text: formatInstant(r.startedAt, data.timeZone), value: r.startedAt } : NONE,
          count(r.days),
          count(r.pages),
          count(r.chatsWritten),
          count(r.retries),
          count(r.drift),
          count(r.rowsInLake),
          text(r.complete === null ? 'no manifest' : r.complete ? 'complete' : 'incomplete'),
        ],
        flagged: r.complete === false,
      })),
    },
    ...(data.runs.length > 0 ? {} : { empty: 'No archive run wrote into this range.' }),
  };
}

export { countChange, durationChange, pointsChange };
