/**
 * One archive run in its own process, for memory figures: runArchive + LocalFileSink
 * against a simulator URL, then one JSON line on stdout with the peak RSS
 * (process.resourceUsage().maxRSS) and the heap left after a forced GC (when run with
 * --expose-gc). bench/cases/scale.ts bundles this file with esbuild and runs it with
 * plain node, so no TypeScript loader sits in the measured process.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import { daysInRange } from '#shared/day-range.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';

export interface ArchiveProcessOptions {
  url: string;
  login: string;
  apiKey: string;
  from: string;
  to: string;
  concurrency: number;
  out: string;
}

export interface ArchiveProcessResult {
  wallMs: number;
  pages: number;
  chats: number;
  complete: boolean;
  retries: number;
  /** Peak resident set size, bytes. */
  maxRssBytes: number;
  /** Samples every 250 ms: [elapsed ms, rss, heapTotal, heapUsed, external] in bytes. */
  samples: Array<[number, number, number, number, number]>;
  /** The largest of each memoryUsage() field seen in the samples. */
  peaks: { heapTotal: number; heapUsed: number; external: number; arrayBuffers: number };
  /** The largest size of each V8 heap space seen in the samples (bytes). */
  spacePeaks: Record<string, number>;
  heapUsedAfterGcBytes: number | undefined;
  baselineRssBytes: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ArchiveProcessOptions;
const baselineRssBytes = process.memoryUsage.rss();
let retries = 0;
const client = createLivechatClient({
  apiUrl: options.url,
  credentials: { kind: 'api-key', login: options.login, apiKey: options.apiKey },
  onRetry: () => (retries += 1),
});

const started = performance.now();
const samples: ArchiveProcessResult['samples'] = [];
const peaks: ArchiveProcessResult['peaks'] = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const spacePeaks: Record<string, number> = {};
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  samples.push([Math.round(performance.now() - started), usage.rss, usage.heapTotal, usage.heapUsed, usage.external]);
  for (const field of ['heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const)
    peaks[field] = Math.max(peaks[field], usage[field]);
  for (const space of getHeapSpaceStatistics()) {
    spacePeaks[space.space_name] = Math.max(spacePeaks[space.space_name] ?? 0, space.space_size);
  }
}, 250);
const manifest = await runArchive({
  runId: 'bench-scale',
  days: daysInRange(options.from, options.to, Number.POSITIVE_INFINITY),
  source: v2Source(client),
  sink: new LocalFileSink(options.out),
  concurrency: options.concurrency,
  retries: () => retries,
});
const wallMs = performance.now() - started;
clearInterval(sampler);

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const result: ArchiveProcessResult = {
  wallMs,
  pages: manifest.totals.pages,
  chats: manifest.totals.chats,
  complete: manifest.complete,
  retries,
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  samples,
  peaks,
  spacePeaks,
  heapUsedAfterGcBytes: gc ? process.memoryUsage().heapUsed : undefined,
  baselineRssBytes,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
