/**
 * `npm run bench:attachments`: time and memory to archive 1 000 attachments through the files
 * tasks both runners use (functions/pipeline/archive-files.ts, 10 files a task, 4 tasks at once as
 * the local run does, each fetching 4 at a time), from the simulator in its own process, into a
 * folder lake; then the same 1 000 again (a re-archived day: nothing is downloaded). Writes the
 * "Attachments" section of bench/RESULTS.md.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { archiveFiles, filesTasksOf } from '#pipeline/archive-files.ts';
import { dayTask } from '#shared/archive-task.ts';
import { addFileCounts, emptyFileCounts, type FileCounts, type FileRef } from '#shared/file-refs.ts';
import { attachmentUrls, withFileOrigins } from '#simulator/attachment-files.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { BENCH_DIR, startSimulatorProcess } from './support/processes.ts';

const FILES = 1_000;
const DAY = '2026-06-01';

const sim = await startSimulatorProcess({ from: DAY, to: DAY, chatsPerDay: 1 });
const out = await mkdtemp(join(tmpdir(), 'bench-files-'));
try {
  const refs: FileRef[] = [];
  for (let n = 1; refs.length < FILES; n += 1) {
    for (const url of attachmentUrls(10_000_000 + n * 7 + 1)) {
      if (refs.length < FILES)
        refs.push({ chatId: `CHAT${String(n).padStart(5, '0')}`, url: withFileOrigins(url, sim.url) });
    }
  }
  const fetcher = safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 25 * 1_048_576 });
  const tasks = filesTasksOf(dayTask('bench-files', DAY, 1, {}, 'UTC'), 'bench', refs, 0);
  const run = async () => {
    const counts = emptyFileCounts();
    const queue = new PQueue({ concurrency: 4 });
    const sink = new LocalFileSink(out);
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const started = performance.now();
    await Promise.all(
      tasks.map((task) =>
        queue.add(async () => {
          const result = await archiveFiles(task, {
            sink,
            now: () => new Date(),
            files: { fetcher },
            source: V2_SOURCE,
          });
          addFileCounts(counts, result.counts);
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    return { seconds, peakRssMb: Math.round(peakRss / 1_048_576), counts };
  };
  const rssBefore = Math.round(process.memoryUsage().rss / 1_048_576);
  const first = await run();
  const again = await run();
  const line = (label: string, r: { seconds: number; peakRssMb: number; counts: FileCounts }) =>
    `| ${label} | ${r.seconds.toFixed(2)} s | ${Math.round(FILES / r.seconds)} files/s | ${r.peakRssMb} MB | ${r.counts.downloaded} | ${(r.counts.bytes / 1_048_576).toFixed(1)} MB | ${r.counts.stored} stored, ${r.counts.gone} gone, ${r.counts.too_large} too_large, ${r.counts.refused_host} refused_host, ${r.counts.failed} failed |`;
  const section = `## Attachments (1 000 files)

\`npm run bench:attachments\` (bench/attachments.ts): 1 000 attachment references (the simulator's
mix: most served, some gone, redirected, on a host outside the list, and 1.5 MB ones, all below
the default 25 MB cap), 10 per files task, 4 tasks at once, 4 files at a time per task, from the
simulator in its own process over loopback into a folder lake; then the same references again,
as when a day is re-archived. Peak RSS of the archiver's process (${rssBefore} MB before).

| run | time | rate | peak RSS | downloaded | bytes stored | statuses |
| --- | --- | --- | --- | --- | --- | --- |
${line('first', first)}
${line('again (re-archive)', again)}

The second run downloads nothing: each file's \`chat_files\` row says it is stored. Memory stays
flat: at most 16 files are in flight, each read into one buffer of its size.
`;
  console.log(section);
  const resultsFile = join(BENCH_DIR, 'RESULTS.md');
  const results = await readFile(resultsFile, 'utf8');
  const start = results.indexOf('## Attachments (1 000 files)');
  const next = start < 0 ? -1 : results.indexOf('\n## ', start + 3);
  const updated =
    start < 0
      ? `${results.trimEnd()}\n\n${section}`
      : `${results.slice(0, start)}${section}${next < 0 ? '' : results.slice(next + 1)}`;
  await writeFile(resultsFile, updated);
} finally {
  await sim.close();
  await rm(out, { recursive: true, force: true });
}
