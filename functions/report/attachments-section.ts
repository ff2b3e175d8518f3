/**
 * The report's attachments section (docs/attachments.md): files per day and status, read from the
 * lake's `chat_files` view (its JSON rows and its compacted days, one row per file). Self-contained:
 * the report shows it only when the lake has attachment rows in the range.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { LocalLake } from '#lake/duckdb-lake.ts';
import { FILE_STATUSES, type FileStatus } from '#shared/file-refs.ts';
import { CHART_WIDTH, PALETTE } from './chart-specs.ts';
import type { FilesDay } from './report-data.ts';
import { formatCount, formatDay } from './report-format.ts';

/** Files per day and status in [from, to], from the chat_files view; days without rows are left out. */
export async function readFilesPerDay(lake: LocalLake, from: string, to: string): Promise<FilesDay[]> {
  const rows = await lake.query<{ dt: string; status: string; files: number; bytes: number | null }>(
    `SELECT dt, status, count(*) AS files, sum(CASE WHEN status = 'stored' THEN CAST(size AS BIGINT) ELSE 0 END) AS bytes
FROM chat_files WHERE dt BETWEEN '${from}' AND '${to}' GROUP BY dt, status ORDER BY dt, status`,
  );
  const days = new Map<string, FilesDay>();
  for (const row of rows) {
    const status = row.status as FileStatus;
    if (!FILE_STATUSES.includes(status)) continue;
    const day = days.get(row.dt) ?? {
      day: row.dt,
      counts: Object.fromEntries(FILE_STATUSES.map((s) => [s, 0])) as Record<FileStatus, number>,
      bytesStored: 0,
    };
    day.counts[status] += Number(row.files);
    day.bytesStored += Number(row.bytes ?? 0);
    days.set(row.dt, day);
  }
  return [...days.values()];
}

const COLOURS: Record<FileStatus, string> = {
  stored: PALETTE.blue,
  gone: PALETTE.grey,
  too_large: PALETTE.orange,
  refused_host: PALETTE.sky,
  failed: PALETTE.vermillion,
};

function filesChart(days: FilesDay[]): TopLevelSpec {
  const values = days.flatMap((d) => FILE_STATUSES.map((status) => ({ day: d.day, status, files: d.counts[status] })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: CHART_WIDTH,
    height: 200,
    data: { values },
    transform: [{ filter: 'datum.files > 0' }],
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'day',
        type: 'ordinal',
        title: null,
        axis: { labelExpr: "utcFormat(toDate(datum.value), '%a %d %b')", labelAngle: 0, labelOverlap: 'greedy' },
      },
      y: { field: 'files', type: 'quantitative', title: 'files', stack: 'zero' },
      color: {
        field: 'status',
        type: 'nominal',
        title: 'status',
        scale: { domain: [...FILE_STATUSES], range: FILE_STATUSES.map((status) => COLOURS[status]) },
      },
      tooltip: [
        { field: 'day', type: 'nominal' },
        { field: 'status', type: 'nominal' },
        { field: 'files', type: 'quantitative' },
      ],
    },
    config: { view: { stroke: null }, legend: { orient: 'top' } },
  };
}

/** A table cell as report-sections.ts draws it (not imported: that module imports this one). */
interface Cell {
  text: string;
  value?: number | string | null;
}

const number = (n: number): Cell => ({ text: formatCount(n), value: n });

/** Files per day and status: what the archive holds besides the transcripts, and what it could not keep. */
export function attachmentsSection(days: FilesDay[]) {
  const total = (d: FilesDay) => FILE_STATUSES.reduce((sum, status) => sum + d.counts[status], 0);
  const notStored = days.reduce((sum, d) => sum + total(d) - d.counts.stored, 0);
  return {
    id: 'attachments',
    part: 'health' as const,
    title: 'Attachments per day',
    intro: `Files the day's chats point to (table chat_files), by status: stored in the lake byte for byte, gone (404/410 at the host), too_large (above the cap), refused_host (a host outside the allowlist: never requested) or failed (after retries; tried again by the next run of the day). ${notStored} not stored in this range; ⚠ marks a day with failures.`,
    chart: days.length > 0 ? filesChart(days) : (null as TopLevelSpec | null),
    chartLabel: `Stacked bars of files per day by status; ${notStored} not stored`,
    table: {
      columns: [
        { label: 'day' },
        ...FILE_STATUSES.map((status) => ({ label: status, numeric: true })),
        { label: 'MB stored', numeric: true },
      ],
      rows: days.map((d) => ({
        cells: [
          { text: formatDay(d.day), value: d.day },
          ...FILE_STATUSES.map((status) => number(d.counts[status])),
          { text: (d.bytesStored / 1_048_576).toFixed(1), value: d.bytesStored },
        ],
        flagged: d.counts.failed > 0,
      })),
    },
    ...(days.length > 0 ? {} : { empty: 'No attachments in this range.' as string }),
  };
}
