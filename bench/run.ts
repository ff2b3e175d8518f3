/**
 * `npm run bench [-- --quick] [-- --only throughput,worker,lambda,scale,query,report,compaction,cpu]`
 *
 * Runs the benchmarks of issue 7 and writes bench/RESULTS.md: each figure against
 * its target, the command, and the machine. Benchmarks are not tests: a missed target
 * is reported, the process still exits 0 (it exits 1 only when a benchmark cannot run).
 * With --only, only the named cases' rows, problems, sections and times are replaced in
 * RESULTS.md (support/results-file.ts); everything else in it is kept.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { daysInRange } from '#shared/day-range.ts';
import { cliCpu } from './cases/cli-cpu.ts';
import { compaction } from './cases/compaction.ts';
import { lambdaPackage } from './cases/lambda-package.ts';
import { query } from './cases/query.ts';
import { report } from './cases/report.ts';
import { scale } from './cases/scale.ts';
import { throughputAndBaseline } from './cases/throughput.ts';
import { fetchPageText, workerCost } from './cases/worker-cost.ts';
import { configFor } from './support/config.ts';
import { BENCH_DIR, PROJECT_ROOT, startSimulatorProcess } from './support/processes.ts';
import { loadAverage, machineFacts, renderTable, type Section, s } from './support/report.ts';
import { mergeResults, type Timing } from './support/results-file.ts';

const CASES = ['throughput', 'worker', 'lambda', 'scale', 'query', 'report', 'compaction', 'cpu'] as const;
type CaseName = (typeof CASES)[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
  strict: true,
});
const mode = values.quick ? 'quick' : 'full';
const config = configFor(mode);
const selected = new Set<CaseName>(
  values.only
    ? values.only.split(',').map((name) => {
        if (!(CASES as readonly string[]).includes(name))
          throw new Error(`--only: unknown case "${name}" (known: ${CASES.join(', ')})`);
        return name as CaseName;
      })
    : CASES,
);

const log = (line: string) => process.stderr.write(`${line}\n`);
const machine = machineFacts(PROJECT_ROOT);
const started = performance.now();
const timings: Timing[] = [];
const sections: Section[] = [];

async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  log(`${label}…`);
  const stepStarted = performance.now();
  const result = await step();
  const elapsed = performance.now() - stepStarted;
  timings.push({ label, ms: elapsed });
  log(`${label}: ${s(elapsed, 1)}`);
  return result;
}

log(`bench (${mode} mode)`);

if (selected.has('throughput') || selected.has('worker')) {
  const { from, to, chatsPerDay, latencyMs } = config.throughput;
  const sim = await startSimulatorProcess({ from, to, chatsPerDay, latencyMs });
  try {
    if (selected.has('throughput')) {
      sections.push(
        ...(await timed('1-2. throughput and naive baseline', () => throughputAndBaseline(config, sim, log))),
      );
    }
    if (selected.has('worker')) {
      const day = daysInRange(from, to)[0]!;
      const pageText = await fetchPageText(sim, day, 1);
      sections.push(await timed('3. worker cost', () => workerCost(config, pageText, day, log)));
    }
  } finally {
    await sim.close();
  }
}
if (selected.has('lambda')) sections.push(await timed('4. lambda package', () => lambdaPackage(config, log)));
if (selected.has('scale')) sections.push(await timed('5. scale', () => scale(config, log)));
if (selected.has('query')) sections.push(await timed('6. query', () => query(config, log)));
if (selected.has('report')) sections.push(await timed('7. HTML report', () => report(config, log)));
if (selected.has('compaction')) sections.push(await timed('9. compaction', () => compaction(config, log)));
if (selected.has('cpu')) sections.push(await timed('10. CPU per page through the CLI', () => cliCpu(config, log)));

const totalMs = performance.now() - started;
const flags = [mode === 'quick' ? '--quick' : '', values.only ? `--only ${values.only}` : ''].filter(Boolean);
const command = `npm run bench${flags.length ? ` -- ${flags.join(' ')}` : ''}`;
const resultsPath = join(BENCH_DIR, 'RESULTS.md');
const previous = await readFile(resultsPath, 'utf8').catch(() => '');
await writeFile(
  resultsPath,
  mergeResults(previous, {
    only: values.only ? [...selected] : undefined,
    mode,
    command,
    machine,
    loadAtEnd: loadAverage(),
    totalMs,
    sections,
    timings,
  }),
);
const notes = values.only ? sections.flatMap((section) => [`### ${section.title}`, '', ...section.notes, '']) : [];
process.stdout.write(
  `${renderTable(sections)}\n\n${notes.join('\n')}wrote bench/RESULTS.md (${values.only ? `--only ${values.only}: those sections` : 'every section'}, ${mode} mode, ${s(totalMs, 1)})\n`,
);
log(`total ${s(totalMs, 1)}`);
