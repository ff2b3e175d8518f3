/**
 * The report's attachments section (docs/attachments.md): files per day and status, read from the
 * lake's `chat_files` rows (`chat-files/dt=…/*.json`, one JSON row each). Self-contained: the
 * report shows it only when the lake has attachment rows in the range.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { CHAT_FILES_PREFIX } from '#lake/lake-layout.ts';
import { FILE_STATUSES, type FileStatus } from '#shared/file-refs.ts';
import { CHART_WIDTH, PALETTE } from './chart-specs.ts';
import type { FilesDay } from './report-data.ts';
import { formatCount, formatDay } from './report-format.ts';

/** Files per day and status in [from, to], from the chat_files rows; days without rows are left out. */
export function readFilesPerDay(lakeDir: string, from: string, to: string): FilesDay[] {
  const root = path.join(lakeDir, CHAT_FILES_PREFIX);
  let partitions: string[];
  try {
    partitions = readdirSync(root).filter((name) => /^dt=\d{4}-\d{2}-\d{2}$/.test(name));
  } catch {
    return [];
  }
  const days: FilesDay[] = [];
  for (const partition of partitions.sort()) {
    const day = partition.slice(3);
    if (day < from || day > to) continue;
    const counts = Object.fromEntries(FILE_STATUSES.map((status) => [status, 0])) as Record<FileStatus, number>;
    let bytesStored = 0;
    for (const file of readdirSync(path.join(root, partition)).filter((name) => name.endsWith('.json'))) {
      let row: { status?: string; size?: number | null };
      try {
        row = JSON.parse(readFileSync(path.join(root, partition, file), 'utf8')) as typeof row;
      } catch {
        continue; // a row being written (or damaged) is left out, as DuckDB would refuse it
      }
      const status = row.status as FileStatus;
      if (!FILE_STATUSES.includes(status)) continue;
      counts[status] += 1;
      if (status === 'stored') bytesStored += Number(row.size ?? 0);
    }
    days.push({ day, counts, bytesStored });
  }
  return days;
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
