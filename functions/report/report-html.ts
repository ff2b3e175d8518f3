/**
 * The report as one self-contained HTML file: styles, the Vega runtime, each chart's compiled
 * spec with its data, and a few lines that hand each spec to Vega. No external resource; the
 * Content-Security-Policy forbids any request, so the page also proves it makes none.
 *
 * When every chart has rendered, `<body data-report-state>` turns from `loading` to `rendered`
 * (or `failed`, with the error on the console); the empty-state page says `empty`.
 */
import { toVega } from './chart-specs.ts';
import { type Figures, needsAttention, type ReportData } from './report-data.ts';
import { formatCount, formatInstant, formatRange } from './report-format.ts';
import {
  type Cell,
  count,
  countChange,
  duration,
  durationChange,
  missedShare,
  PARTS,
  type Part,
  percent,
  pointsChange,
  type ReportSection,
  reportSections,
  satisfaction,
  type Table,
} from './report-sections.ts';
import { vegaRuntimeScript } from './vega-runtime.ts';

/** Tables longer than this start collapsed (a year is 365 rows); their numbers stay in the page. */
const OPEN_TABLE_ROWS = 31;
/** Tables with more columns go under their chart rather than beside it. */
const WIDE_TABLE_COLUMNS = 6;

/** `Chat report: Mon 16 Nov – Sun 22 Nov 2026, against Mon 9 Nov – Sun 15 Nov 2026`. */
export function reportTitle(data: ReportData): string {
  if (data.from === '(none)') return 'Chat report';
  const range = formatRange(data.from, data.to);
  return data.previous
    ? `Chat report: ${range}, against ${formatRange(data.previous.from, data.previous.to)}`
    : `Chat report: ${range}`;
}

export function renderReportHtml(data: ReportData): string {
  const isEmpty = data.totals.chats === 0 && data.completeness.length === 0 && data.runs.length === 0;
  const sections = isEmpty ? [] : reportSections(data);
  const title = reportTitle(data);
  const parts = (Object.keys(PARTS) as Part[]).filter((part) => sections.some((s) => s.part === part));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="livechat-archiver npm run report">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body data-report-state="${isEmpty ? 'empty' : 'loading'}">
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${meta(data)}</p>
${data.filters ? filteredLake(data.filters) : ''}
${data.notes.map((note) => `<p class="note">⚠ ${escapeHtml(note)}</p>`).join('\n')}
${isEmpty ? '' : headline(data)}
${isEmpty ? '' : `<nav>${parts.map((part) => `<a href="#part-${part}">${escapeHtml(PARTS[part])}</a>`).join(' · ')}</nav>`}
</header>
<main>
${isEmpty ? emptyState(data) : parts.map((part) => renderPart(part, sections, data)).join('\n')}
</main>
${isEmpty ? '' : `<script>${vegaRuntimeScript()}</script>\n<script>${RENDER_SCRIPT}</script>`}
</body>
</html>
`;
}

function meta(data: ReportData): string {
  const days = data.from === '(none)' ? 'no days' : `days ${escapeHtml(data.from)} to ${escapeHtml(data.to)}`;
  const how = data.rangeLabel ? ` (${escapeHtml(data.rangeLabel)})` : '';
  return `Lake <code>${escapeHtml(data.lake)}</code> · ${days}${how}, cut in ${escapeHtml(data.timeZone)} · generated ${escapeHtml(formatInstant(data.generatedAt, data.timeZone))} ${escapeHtml(data.timeZone)}`;
}

/** A filtered lake holds only the chats its filters select: every count on the page is of those. */
function filteredLake(filters: string): string {
  return `<p class="note" id="lake-filters">Filtered lake: it holds only the chats matching <code>${escapeHtml(filters)}</code> (manifests/filters/); every count and chart below is of those chats, not of every chat of the account.</p>`;
}

function emptyState(data: ReportData): string {
  return `<section id="empty" class="empty-state"><h2>No data in this range</h2>
<p>The lake holds no chat, no run manifest and no day plan for ${escapeHtml(data.from)} to ${escapeHtml(data.to)}. Archive those days first (<code>npm run archive -- --from … --to …</code>) or choose another range with <code>--from</code> / <code>--to</code> or <code>--last 7d|30d|quarter</code>.</p></section>`;
}

/** The four figures a lead looks at first, each against the previous period. */
function headline(data: ReportData): string {
  const now = data.headline.current;
  const before = data.headline.previous;
  const items: Array<{ id: string; label: string; value: Cell; previous: Cell; change: Cell }> = [
    {
      id: 'chats',
      label: 'chats',
      value: count(now.chats),
      previous: before ? count(before.chats) : NOT_ARCHIVED,
      change: before ? countChange(now.chats, before.chats) : NOT_ARCHIVED,
    },
    figure('missed', 'missed share', now, before, missedShare, percent, pointsChange),
    figure(
      'first-response',
      'first response, median',
      now,
      before,
      (f) => f.firstResponseP50,
      duration,
      durationChange,
    ),
    figure('satisfaction', 'satisfaction (good of rated)', now, before, satisfaction, percent, pointsChange),
  ];
  const previousLabel = data.previous
    ? before
      ? `previous period, ${formatRange(data.previous.from, data.previous.to)}`
      : `previous period ${formatRange(data.previous.from, data.previous.to)}: not archived`
    : '';
  return `<section id="headline" data-part="headline" aria-label="Headline figures">
<dl class="kpis">${items
    .map(
      (
        item,
      ) => `<div data-kpi="${item.id}"><dt>${escapeHtml(item.label)}</dt><dd${valueAttribute(item.value)}>${escapeHtml(item.value.text)}</dd>
<p class="change" data-change${valueAttribute(item.change)}>${escapeHtml(before ? item.change.text : 'no previous period')}</p>
<p class="previous" data-previous${valueAttribute(item.previous)}>${escapeHtml(before ? `before: ${item.previous.text}` : 'not archived')}</p></div>`,
    )
    .join('')}</dl>
<p class="meta">${escapeHtml(previousLabel)}</p>
</section>`;
}

const NOT_ARCHIVED: Cell = { text: 'not archived', value: null };

function figure(
  id: string,
  label: string,
  now: Figures,
  before: Figures | null,
  of: (f: Figures) => number | null,
  cell: (n: number | null) => Cell,
  change: (current: number | null, previous: number | null) => Cell,
) {
  return {
    id,
    label,
    value: cell(of(now)),
    previous: before ? cell(of(before)) : NOT_ARCHIVED,
    change: before ? change(of(now), of(before)) : NOT_ARCHIVED,
  };
}

function renderPart(part: Part, sections: ReportSection[], data: ReportData): string {
  const own = sections.filter((s) => s.part === part);
  const summary = part === 'health' ? health(data) : '';
  return `<div class="part" id="part-${part}" data-part="${part}">
<h2 class="part-title">${escapeHtml(PARTS[part])}</h2>
${summary}${own.map(renderSection).join('\n')}
</div>`;
}

function health(data: ReportData): string {
  const notComplete = data.completeness.filter((d) => needsAttention(d.status)).length;
  const expired = data.completeness.filter((d) => d.status === 'expired (retention)').length;
  const items: Array<[string, string, string]> = [
    ['incomplete', 'days not complete', `${notComplete === 0 ? '' : '⚠ '}${formatCount(notComplete)}`],
    ['expired', 'days expired (retention)', formatCount(expired)],
    ['runs', 'archive runs', formatCount(data.runs.length)],
  ];
  return `<dl class="kpis small">${items
    .map(([id, label, value]) => `<div data-kpi="${id}"><dt>${label}</dt><dd>${escapeHtml(value)}</dd></div>`)
    .join('')}</dl>\n`;
}

function renderSection(section: ReportSection): string {
  const specId = `spec-${section.id}`;
  const chart = section.chart
    ? `<div class="chart" data-chart="${specId}" role="img" aria-label="${escapeHtml(section.chartLabel)}"></div>
<script type="application/json" id="${specId}">${jsonForScript(toVega(section.chart))}</script>`
    : `<p class="empty">${escapeHtml(section.empty ?? 'Nothing to show.')}</p>`;
  const rows = section.table.rows.length;
  const table = rows === 0 ? '' : renderTable(section.table);
  const numbers =
    rows === 0
      ? ''
      : rows > OPEN_TABLE_ROWS
        ? `<details><summary>Numbers (${rows} rows)</summary>${table}</details>`
        : table;
  return `<section id="${section.id}" data-section="${section.id}">
<h3>${escapeHtml(section.title)}</h3>
<p class="intro">${escapeHtml(section.intro)}</p>
<div class="body${section.table.columns.length > WIDE_TABLE_COLUMNS ? ' wide' : ''}">${chart}<div class="numbers">${numbers}</div></div>
</section>`;
}

const valueAttribute = (cell: Cell) =>
  cell.value === undefined ? '' : ` data-value="${escapeHtml(cell.value === null ? '' : String(cell.value))}"`;

function renderTable(table: Table): string {
  const head = table.columns
    .map((c) => `<th scope="col"${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`)
    .join('');
  const body = table.rows
    .map((row) => {
      const cells = row.cells
        .map((cell, index) => {
          const column = table.columns[index]!;
          const flag = row.flagged && index === 0 ? '⚠ ' : '';
          return `<td${column.numeric ? ' class="num"' : ''}${valueAttribute(cell)}>${flag}${escapeHtml(cell.text)}</td>`;
        })
        .join('');
      return `<tr${row.flagged ? ' class="flagged"' : ''}>${cells}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** JSON inside <script type="application/json">: `<` escaped so no `</script>` or `<!--` can appear. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

const RENDER_SCRIPT = `
(function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll('[data-chart]'));
  Promise.all(charts.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute('data-chart')).textContent);
    return new vega.View(vega.parse(spec), { renderer: 'svg', container: el, hover: true }).runAsync();
  })).then(function () {
    document.body.setAttribute('data-report-state', 'rendered');
  }, function (error) {
    document.body.setAttribute('data-report-state', 'failed');
    console.error(error);
  });
})();
`;

const STYLE = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #dadce0; --flag: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fafafa; }
header, main { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 0 0 4px; }
h2.part-title { font-size: 20px; margin: 28px 0 0; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 0 0 4px; }
.meta, .intro { color: var(--muted); margin: 0 0 10px; }
code { font-size: 12px; background: #eef0f2; padding: 1px 4px; border-radius: 3px; }
nav { margin: 8px 0 4px; font-size: 13px; }
nav a { color: #1a5fb4; }
.note { color: var(--flag); font-weight: 600; }
.kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.kpis div { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px; min-width: 180px; }
.kpis dt { color: var(--muted); font-size: 12px; }
.kpis dd { margin: 0; font-size: 26px; font-weight: 650; }
.kpis .change { margin: 2px 0 0; font-size: 14px; font-weight: 600; }
.kpis .previous { margin: 0; color: var(--muted); font-size: 12px; }
.kpis.small div { min-width: 130px; padding: 6px 12px; }
.kpis.small dd { font-size: 18px; }
#headline { background: transparent; border: 0; padding: 0; margin: 8px 0; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
.body { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.chart { flex: 0 0 auto; min-height: 60px; }
.numbers { flex: 1 1 320px; min-width: 280px; overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left; white-space: nowrap; }
th { background: #f3f4f6; font-weight: 600; position: sticky; top: 0; }
.num { text-align: right; }
tr.flagged td { font-weight: 700; color: var(--flag); }
details summary { cursor: pointer; color: #1a5fb4; margin-bottom: 6px; }
.empty, .empty-state p { color: var(--muted); font-style: italic; }
.wide .numbers { flex-basis: 100%; }
`;
