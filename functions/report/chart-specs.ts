/**
 * One Vega-Lite chart per report section, compiled to Vega here (at report time, in Node), so
 * the page carries only the Vega runtime and the compiled spec with its data inlined.
 *
 * Readable without colour: every colour pairs with a second cue (lightness, a text mark, a
 * dash pattern or a facet label), each chart has tooltips, and each section also prints its
 * numbers as a table.
 */
import type { LoggerInterface, Spec as VegaSpec } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type {
  AgentRow,
  CompletenessDay,
  DailyChats,
  HeatmapCell,
  NamedCount,
  RunSummary,
  SurveyQuestion,
} from './report-data.ts';
import { formatInstant } from './report-format.ts';

export const CHART_WIDTH = 620;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: CHART_WIDTH,
  config: {
    font: FONT,
    view: { stroke: null },
    axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#e6e6e6' },
    legend: { labelFontSize: 11, titleFontSize: 12, orient: 'top' },
  },
} as const;

/**
 * Days as bands (one per day, the label centred under its bar, none past the range), read in
 * UTC so the browser's own zone cannot shift a partition day.
 */
const DAY_X = {
  field: 'day',
  type: 'ordinal',
  title: null,
  axis: { labelExpr: "utcFormat(toDate(datum.value), '%a %d %b')", labelAngle: 0, labelOverlap: 'greedy' },
} as const;

/** Okabe–Ito: told apart with any common colour-vision deficiency. */
export const PALETTE = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  sky: '#56B4E9',
  green: '#009E73',
  grey: '#BBBBBB',
  lightGrey: '#DDDDDD',
} as const;

/** A Vega-Lite warning (e.g. an encoding it drops) means a wrong spec: fail instead of printing it. */
const strictLogger: LoggerInterface = {
  level() {
    return strictLogger;
  },
  error(...args) {
    throw new Error(`Vega-Lite: ${args.join(' ')}`);
  },
  warn(...args) {
    throw new Error(`Vega-Lite: ${args.join(' ')}`);
  },
  info() {
    return strictLogger;
  },
  debug() {
    return strictLogger;
  },
};

export function toVega(spec: TopLevelSpec): VegaSpec {
  return compile(spec, { logger: strictLogger }).spec;
}

/**
 * The mark over a day's bar: ✗ chats are missing, ! chats are there but not once each, + every chat
 * is there and some only in the archive (LiveChat no longer returns them), ? nothing to check against.
 */
export const FLAGS: Record<CompletenessDay['status'], string> = {
  complete: '',
  short: '✗',
  incomplete: '✗',
  not_archived: '✗',
  'expired (retention)': '',
  duplicates: '!',
  extra: '!',
  kept: '+',
  unplanned: '?',
};

/** Archived bars per day, the expected total as a black tick, and a FLAGS mark over every day that is not complete. */
const STATUS_COLOURS: ReadonlyArray<[CompletenessDay['status'], string]> = [
  ['complete', PALETTE.blue],
  ['kept', PALETTE.sky],
  ['expired (retention)', PALETTE.lightGrey],
  ['short', PALETTE.vermillion],
  ['incomplete', PALETTE.vermillion],
  ['not_archived', PALETTE.vermillion],
  ['duplicates', PALETTE.orange],
  ['extra', PALETTE.orange],
  ['unplanned', PALETTE.grey],
];

export function completenessChart(days: CompletenessDay[]): TopLevelSpec {
  const present = new Set(days.map((d) => d.status));
  const statuses = STATUS_COLOURS.filter(([status]) => present.has(status));
  const values = days.map((d) => ({
    day: d.day,
    archived: d.archived,
    expected: d.expected,
    status: d.status,
    flag: FLAGS[d.status],
    top: Math.max(d.archived, d.expected ?? 0),
  }));
  return {
    ...BASE,
    height: 220,
    data: { values },
    encoding: { x: DAY_X },
    layer: [
      {
        mark: { type: 'bar', tooltip: true, width: { band: 0.85 } },
        encoding: {
          y: { field: 'archived', type: 'quantitative', title: 'chats' },
          color: {
            field: 'status',
            type: 'nominal',
            title: 'day',
            // Only the statuses the range has, so the legend stays short.
            scale: {
              domain: statuses.map(([status]) => status),
              range: statuses.map(([, colour]) => colour),
            },
          },
          tooltip: [
            { field: 'day', type: 'nominal' },
            { field: 'status', type: 'nominal' },
            { field: 'expected', type: 'quantitative' },
            { field: 'archived', type: 'quantitative' },
          ],
        },
      },
      {
        mark: { type: 'tick', color: '#000', thickness: 2 },
        transform: [{ filter: 'datum.expected != null' }],
        encoding: { y: { field: 'expected', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', dy: -8, fontWeight: 'bold', color: PALETTE.vermillion, fontSize: 13 },
        transform: [{ filter: "datum.flag != ''" }],
        encoding: {
          y: { field: 'top', type: 'quantitative' },
          text: { field: 'flag' },
        },
      },
    ],
  };
}

/** Stacked bars: regular chats (dark) under missed chats (light). */
export function chatsPerDayChart(daily: DailyChats[]): TopLevelSpec {
  const values = daily.flatMap((d) => [
    { day: d.day, kind: 'chat', chats: d.regular, order: 0 },
    { day: d.day, kind: 'missed', chats: d.missed, order: 1 },
  ]);
  return {
    ...BASE,
    height: 220,
    data: { values },
    mark: { type: 'bar', tooltip: true, width: { band: 0.85 } },
    encoding: {
      x: DAY_X,
      y: { field: 'chats', type: 'quantitative', stack: 'zero', title: 'chats' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: 'type',
        scale: { domain: ['chat', 'missed'], range: [PALETTE.blue, PALETTE.orange] },
      },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [
        { field: 'day', type: 'nominal' },
        { field: 'kind', type: 'nominal', title: 'type' },
        { field: 'chats', type: 'quantitative' },
      ],
    },
  };
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * Weekday × hour cells shaded by chats (blues; oranges for missed chats), each labelled with its
 * count; no grid line crosses a cell, white gaps part them.
 */
export function heatmapChart(cells: HeatmapCell[], timeZone: string, kind: 'all' | 'missed' = 'all'): TopLevelSpec {
  const values = cells.map((c) => ({ weekday: WEEKDAYS[c.weekday - 1], hour: c.hour, chats: c.chats }));
  const max = Math.max(1, ...cells.map((c) => c.chats));
  const noGrid = { grid: false, domain: false, ticks: false };
  return {
    ...BASE,
    height: 7 * 26,
    data: { values },
    encoding: {
      x: { field: 'hour', type: 'ordinal', title: `hour of start (${timeZone})`, axis: { labelAngle: 0, ...noGrid } },
      y: { field: 'weekday', type: 'ordinal', sort: WEEKDAYS, title: null, axis: noGrid },
    },
    layer: [
      {
        mark: { type: 'rect', tooltip: true, stroke: '#fff', strokeWidth: 2 },
        encoding: {
          color: {
            field: 'chats',
            type: 'quantitative',
            scale: { scheme: kind === 'missed' ? 'oranges' : 'blues', domainMin: 0 },
            title: kind === 'missed' ? 'missed chats' : 'chats',
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 9 },
        encoding: {
          text: { field: 'chats', type: 'quantitative' },
          color: { condition: { test: `datum.chats > ${max * 0.55}`, value: '#fff' }, value: '#222' },
        },
      },
    ],
  };
}

/** Chats per agent this period as bars, the previous period's as a black tick (when it is archived). */
export function agentsChart(agents: AgentRow[]): TopLevelSpec {
  const names = agents.map((a) => a.name);
  const values = agents.map((a) => ({
    label: names.indexOf(a.name) !== names.lastIndexOf(a.name) ? `${a.name} (${a.email})` : a.name,
    chats: a.current.chats,
    previous: a.previous?.chats ?? null,
  }));
  return {
    ...BASE,
    height: { step: 20 },
    data: { values },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 280, grid: false } },
      x: { field: 'chats', type: 'quantitative', title: 'chats (tick: previous period)' },
    },
    layer: [
      {
        mark: { type: 'bar', color: PALETTE.blue, tooltip: true },
        encoding: {
          tooltip: [
            { field: 'label', type: 'nominal', title: 'agent' },
            { field: 'chats', type: 'quantitative' },
            { field: 'previous', type: 'quantitative', title: 'previous period' },
          ],
        },
      },
      {
        mark: { type: 'tick', color: '#000', thickness: 2 },
        transform: [{ filter: 'datum.previous != null' }],
        encoding: { x: { field: 'previous', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        encoding: { text: { field: 'chats', type: 'quantitative', format: ',' } },
      },
    ],
  };
}

/** One panel per survey question: chats per answer. */
export function surveyChart(questions: SurveyQuestion[]): TopLevelSpec {
  const values = questions.flatMap((q) =>
    (q.answers ?? []).map((a) => ({ question: q.question, answer: a.name, chats: a.chats })),
  );
  return {
    $schema: BASE.$schema,
    config: BASE.config,
    data: { values },
    facet: {
      row: {
        field: 'question',
        type: 'nominal',
        title: null,
        sort: questions.map((q) => q.question),
        header: {
          labelAngle: 0,
          labelAlign: 'left',
          labelAnchor: 'start',
          labelOrient: 'top',
          labelFontWeight: 'bold',
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: CHART_WIDTH - 200,
      height: { step: 18 },
      mark: { type: 'bar', color: PALETTE.blue, tooltip: true },
      encoding: {
        y: { field: 'answer', type: 'nominal', sort: null, title: null, axis: { labelLimit: 220, grid: false } },
        x: { field: 'chats', type: 'quantitative', title: 'chats' },
      },
    },
  };
}

/** Horizontal bars with the count written at the end of each bar. */
export function rankingChart(rows: NamedCount[]): TopLevelSpec {
  const values = rows.map((r) => ({ label: r.name, chats: r.chats }));
  return {
    ...BASE,
    height: { step: 18 },
    data: { values },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 280, grid: false } },
      x: { field: 'chats', type: 'quantitative', title: 'chats' },
    },
    layer: [
      { mark: { type: 'bar', color: PALETTE.blue, tooltip: true } },
      {
        mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
        encoding: { text: { field: 'chats', type: 'quantitative', format: ',' } },
      },
    ],
  };
}

/** Share of good / not rated / bad among regular chats per day (blue, light grey, vermillion: also apart in grey). */
export function ratingChart(daily: DailyChats[]): TopLevelSpec {
  const values = daily.flatMap((d) => [
    { day: d.day, rating: 'good', chats: d.ratedGood, order: 0 },
    { day: d.day, rating: 'not rated', chats: d.notRated, order: 1 },
    { day: d.day, rating: 'bad', chats: d.ratedBad, order: 2 },
  ]);
  return {
    ...BASE,
    height: 200,
    data: { values },
    mark: { type: 'bar', tooltip: true, width: { band: 0.85 } },
    encoding: {
      x: DAY_X,
      y: {
        field: 'chats',
        type: 'quantitative',
        stack: 'normalize',
        title: 'share of regular chats',
        axis: { format: '.0%' },
      },
      color: {
        field: 'rating',
        type: 'nominal',
        scale: { domain: ['good', 'not rated', 'bad'], range: [PALETTE.blue, PALETTE.lightGrey, PALETTE.vermillion] },
      },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [
        { field: 'day', type: 'nominal' },
        { field: 'rating', type: 'nominal' },
        { field: 'chats', type: 'quantitative' },
      ],
    },
  };
}

/** Two panels (first response, duration); p50 a solid line, p90 dashed (with dots and squares up to 62 days). */
export function timingChart(daily: DailyChats[]): TopLevelSpec {
  const points = daily.length <= 62;
  const values = daily.flatMap((d) => [
    { day: d.day, measure: 'first response', percentile: 'p50', seconds: d.firstResponseP50 },
    { day: d.day, measure: 'first response', percentile: 'p90', seconds: d.firstResponseP90 },
    { day: d.day, measure: 'chat duration', percentile: 'p50', seconds: d.durationP50 },
    { day: d.day, measure: 'chat duration', percentile: 'p90', seconds: d.durationP90 },
  ]);
  // Minutes and seconds on the axis and in tooltips, as in the tables.
  const human =
    "datum.value >= 3600 ? floor(datum.value / 3600) + 'h ' + format(floor(datum.value % 3600 / 60), '02d') + 'm' : datum.value >= 60 ? floor(datum.value / 60) + 'm ' + format(round(datum.value % 60), '02d') + 's' : round(datum.value) + 's'";
  return {
    $schema: BASE.$schema,
    config: BASE.config,
    data: { values: values.filter((v) => v.seconds !== null) },
    facet: { row: { field: 'measure', type: 'nominal', title: null, sort: ['first response', 'chat duration'] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: CHART_WIDTH - 60,
      height: 130,
      // Dots only while they stay apart; the dash pattern tells p50 from p90 either way.
      mark: { type: 'line', point: points, tooltip: true },
      encoding: {
        x: DAY_X,
        y: { field: 'seconds', type: 'quantitative', title: null, axis: { labelExpr: human } },
        color: {
          field: 'percentile',
          type: 'nominal',
          scale: { domain: ['p50', 'p90'], range: [PALETTE.blue, PALETTE.orange] },
        },
        strokeDash: {
          field: 'percentile',
          type: 'nominal',
          scale: {
            domain: ['p50', 'p90'],
            range: [
              [1, 0],
              [6, 3],
            ],
          },
        },
        ...(points
          ? {
              shape: {
                field: 'percentile',
                type: 'nominal',
                scale: { domain: ['p50', 'p90'], range: ['circle', 'square'] },
              },
            }
          : {}),
        tooltip: [
          { field: 'day', type: 'nominal' },
          { field: 'measure', type: 'nominal' },
          { field: 'percentile', type: 'nominal' },
          { field: 'seconds', type: 'quantitative', format: '.1f' },
        ],
      },
    },
  };
}

/** Per run, one panel each for rows in the lake, pages, retries and drift, the value written over each bar. */
export function runsChart(runs: RunSummary[], timeZone: string): TopLevelSpec {
  const labels = runs.map((run) => runLabel(run, timeZone));
  const unique = (index: number) =>
    labels.indexOf(labels[index]!) === labels.lastIndexOf(labels[index]!)
      ? labels[index]!
      : `${labels[index]} ${runs[index]!.runId}`;
  const values = runs.flatMap((r, index) =>
    (
      [
        ['rows in lake', r.rowsInLake],
        ['pages', r.pages],
        ['retries', r.retries],
        ['drift', r.drift],
      ] as const
    ).map(([metric, value]) => ({
      run: unique(index),
      runId: r.runId,
      metric,
      value: value ?? 0,
      known: value !== null,
    })),
  );
  return {
    $schema: BASE.$schema,
    config: BASE.config,
    data: { values },
    facet: {
      row: { field: 'metric', type: 'nominal', title: null, sort: ['rows in lake', 'pages', 'retries', 'drift'] },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: Math.min(CHART_WIDTH - 60, Math.max(200, runs.length * 50)),
      height: 70,
      encoding: {
        x: { field: 'run', type: 'ordinal', sort: null, title: `run (start, ${timeZone})`, axis: { labelAngle: -30 } },
        y: { field: 'value', type: 'quantitative', title: null, axis: { format: ',d', tickMinStep: 1 } },
      },
      layer: [
        {
          mark: { type: 'bar', color: PALETTE.blue, tooltip: true },
          encoding: {
            tooltip: [
              { field: 'runId', type: 'nominal', title: 'run' },
              { field: 'metric', type: 'nominal' },
              { field: 'value', type: 'quantitative' },
            ],
          },
        },
        {
          mark: { type: 'text', dy: -6, fontSize: 10 },
          encoding: {
            text: {
              condition: { test: 'datum.known', field: 'value', type: 'quantitative', format: ',' },
              value: 'n/a',
            },
          },
        },
      ],
    },
  };
}

/** `2026-11-30 12:12` from a run's start in the lake's zone, or the run id when the start is unknown. */
export function runLabel(run: RunSummary, timeZone: string): string {
  return run.startedAt ? formatInstant(run.startedAt, timeZone) : run.runId;
}
