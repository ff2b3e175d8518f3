import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BenchConfig } from '#bench/support/config.ts';
import { ms, type Section, s } from '#bench/support/report.ts';
import { writeReport } from '#report/build-report.ts';
import { vegaRuntimeScript } from '#report/vega-runtime.ts';
import { daysInRange } from '#shared/day-range.ts';
import { cachedLake } from './query.ts';

const MB = 1024 * 1024;
const size = (bytes: number) => `${(bytes / MB).toFixed(2)} MB`;

interface Measured {
  chats: number;
  days: number;
  wallMs: number[];
  bytes: number;
  gzipBytes: number;
}

/** `npm run report` in process over a generated lake: wall time of each run, size of the file. */
async function measure(
  days: string[],
  chatsPerDay: number,
  runs: number,
  log: (line: string) => void,
  range: { from?: string; to?: string } = {},
): Promise<Measured> {
  const { dir } = await cachedLake(days, chatsPerDay, log);
  const out = await mkdtemp(join(tmpdir(), 'bench-report-'));
  try {
    const wallMs: number[] = [];
    let result: Awaited<ReturnType<typeof writeReport>> | undefined;
    for (let run = 0; run < runs; run += 1) {
      const started = performance.now();
      result = await writeReport({ lakeDir: dir, outDir: out, ...range });
      wallMs.push(performance.now() - started);
    }
    const html = readFileSync(result!.file);
    log(
      `  ${result!.chats} chats over ${result!.from}..${result!.to}: ${wallMs.map((value) => ms(value)).join(', ')}, ${size(html.byteLength)}`,
    );
    return {
      chats: result!.chats,
      days: daysInRange(result!.from, result!.to).length,
      wallMs,
      bytes: html.byteLength,
      gzipBytes: gzipSync(html).byteLength,
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** Issue 14: the HTML report's generation time and size on the query bench's lake and on a year of days. */
export async function report(config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const lakeDays = daysInRange(config.query.from, config.query.to);
  const main = await measure(lakeDays, config.query.chatsPerDay, 2, log);
  // The second half of the lake against the first: both periods read in the one scan.
  const half = lakeDays.slice(Math.floor(lakeDays.length / 2));
  const compared = await measure(lakeDays, config.query.chatsPerDay, 1, log, { from: half[0]!, to: half.at(-1)! });
  const year = await measure(
    daysInRange(config.report.yearFrom, config.report.yearTo),
    config.report.yearChatsPerDay,
    1,
    log,
  );
  const runtime = Buffer.byteLength(vegaRuntimeScript());
  const first = main.wallMs[0]!;
  return {
    title: '7. HTML report',
    rows: [
      {
        id: '7.1',
        metric: `npm run report over the ${main.chats.toLocaleString('en-US')}-chat lake of §6 (${main.days} days): wall time, first run (second run: ${s(main.wallMs[1] ?? Number.NaN)})`,
        measured: s(first),
        target: '—',
        met: undefined,
      },
      {
        id: '7.2',
        metric: `report.html size, same lake (gzip: ${size(main.gzipBytes)}; of it the inlined Vega runtime: ${size(runtime)})`,
        measured: size(main.bytes),
        target: '< 5 MB',
        met: main.bytes < 5 * MB,
      },
      {
        id: '7.3',
        metric: `report.html size over a year of days (${year.days} days × ${config.report.yearChatsPerDay} chats = ${year.chats.toLocaleString('en-US')} chats; generated in ${s(year.wallMs[0]!)})`,
        measured: size(year.bytes),
        target: '< 5 MB',
        met: year.bytes < 5 * MB,
      },
      {
        id: '7.4',
        metric: `the last ${compared.days} days of the same lake against the ${compared.days} before (both periods in one scan; ${compared.chats.toLocaleString('en-US')} chats in range): wall time, and size ${size(compared.bytes)}`,
        measured: s(compared.wallMs[0]!),
        target: '—',
        met: undefined,
      },
    ],
    notes: [
      `\`writeReport\` (what \`npm run report\` runs) in the bench process: open the lake with DuckDB (default view), one scan of the range and of the previous period of equal length into a temporary table of the latest copy of each chat (row 7.1: the whole lake, whose previous period is not archived; row 7.4: half of it against the other half), the section aggregates (headline, agents and groups for both periods, surveys, weekday × hour of all and of missed chats), the run manifests (none in these generated lakes, so every day is "unplanned"), Vega-Lite compiled to Vega, the page written. The lakes are §6's cached generated lakes (\`cachedLake\`, simulator chats through the real page writer).`,
      `The file holds aggregates only, so its size grows with the number of days (a row per day in four tables and their charts), agents (top 20), and runs, not with chats per day: a year of a 2 000-chats/day account has the same rows as row 7.3's year (agents and runs aside); only the generation time grows with chats (row 7.1: ${Math.round(main.chats / (first / 1000)).toLocaleString('en-US')} chats/s on this machine).`,
    ],
  };
}
