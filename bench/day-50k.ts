/**
 * `npm run bench:day [-- --chats 50000 --latency 300]`
 *
 * One simulated day of 50 000 chats through the queued path of both sources: the worker's task
 * handler (handleQueuedTask: day task → page or slice tasks → settle task) behind an emulated
 * SQS queue and Lambda (workerConcurrency invocations at once, batches of batchSize records run
 * in parallel, each record's hand-off deadline from the sized worker timeout), against the
 * bundled simulator in its own process answering every request after a real 300 ms. Writes its
 * section into bench/RESULTS.md between the day-50k markers (a full `npm run bench` keeps it).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sizingFor } from '#infra/sizing.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { handleQueuedTask, type TaskSender } from '#pipeline/queued-task-handler.ts';
import type { QueuedTaskResult } from '#pipeline/queued-task-result.ts';
import { dayTask, type QueuedTask } from '#shared/archive-task.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { BENCH_DIR, startSimulatorProcess } from './support/processes.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { chats: { type: 'string', default: '50000' }, latency: { type: 'string', default: '300' } },
  strict: true,
});
const CHATS = Number(values.chats);
const LATENCY_MS = Number(values.latency);
const DAY = '2026-06-10';
const WORKER_CONCURRENCY = 4;
const BATCH_SIZE = 5;
const MARK_START = '<!-- day-50k:start -->';
const MARK_END = '<!-- day-50k:end -->';
const log = (line: string) => process.stderr.write(`${line}\n`);

interface TaskRun {
  kind: QueuedTask['kind'];
  ms: number;
  result?: QueuedTaskResult;
  error?: string;
}

interface SourceRun {
  source: 'v2' | 'v3.6';
  wallMs: number;
  invocations: number;
  /** Sum of the invocations' durations: what Lambda bills (a batch's records run in parallel). */
  invocationMs: number;
  tasks: TaskRun[];
  requests: number;
  objects: Map<string, { count: number; bytes: number }>;
  peakRssMb: number;
  settleRssMb: number;
  settled?: QueuedTaskResult;
  incomplete?: string;
}

/** Counts every object written (by top prefix) and its bytes. */
function countingSink(inner: LakeSink, objects: SourceRun['objects']): LakeSink {
  const count = (key: string, body: Uint8Array) => {
    const prefix = key.startsWith('manifests/') ? key.split('/').slice(0, 2).join('/') : key.split('/')[0]!;
    const entry = objects.get(prefix) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += body.byteLength;
    objects.set(prefix, entry);
  };
  return {
    ...inner,
    put: async (key, body, type) => {
      await inner.put(key, body, type);
      count(key, body);
    },
    putIfAbsent: async (key, body, type) => {
      const created = await inner.putIfAbsent(key, body, type);
      if (created) count(key, body);
      return created;
    },
    get: (key) => inner.get(key),
    list: (prefix) => inner.list(prefix),
    delete: (keys) => inner.delete(keys),
  };
}

/** Every method call on the client is one API request (each retried request counts once more in the client's retries). */
function counted<T extends object>(client: T, onCall: () => void): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        onCall();
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function runSource(source: 'v2' | 'v3.6'): Promise<SourceRun> {
  const sizing = sizingFor(CHATS);
  const timeoutMs = sizing.workerTimeoutSeconds * 1000;
  // As the stack sets it: each request's budget is 75 % of the timeout; a task hands off that and 5 s before it.
  const requestBudgetMs = Math.floor(timeoutMs * 0.75);
  const reserveMs = requestBudgetMs + 5_000;
  const sim = await startSimulatorProcess({ from: DAY, to: DAY, chatsPerDay: CHATS, latencyMs: LATENCY_MS, source });
  const work = await mkdtemp(join(tmpdir(), `bench-day-${source}-`));
  const run: SourceRun = {
    source,
    wallMs: 0,
    invocations: 0,
    invocationMs: 0,
    tasks: [],
    requests: 0,
    objects: new Map(),
    peakRssMb: 0,
    settleRssMb: 0,
  };
  const onCall = () => {
    run.requests += 1;
  };
  const tuning = { apiUrl: sim.url, timeoutMs: 20_000, totalTimeoutMs: requestBudgetMs };
  const archiveSource: ArchiveSource =
    source === 'v2'
      ? v2Source(
          counted(
            createLivechatClient({ ...tuning, credentials: { kind: 'api-key', login: sim.login, apiKey: sim.apiKey } }),
            onCall,
          ),
        )
      : v36Source(
          counted(
            createArchivesClient({
              ...tuning,
              credentials: { kind: 'pat', accountId: sim.accountId!, token: sim.token! },
            }),
            onCall,
          ),
          { busyDayThreshold: sizing.busyDayThreshold, pagesPerTask: sizing.slicePagesPerTask },
        );
  const sink = countingSink(new LocalFileSink(work), run.objects);
  const queue: QueuedTask[] = [dayTask('bench-day', DAY, 1, {}, 'UTC')];
  const sender: TaskSender = { send: async (tasks) => void queue.push(...tasks) };
  let settling = false;
  let settleBaseRss = 0;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss / 2 ** 20;
    run.peakRssMb = Math.max(run.peakRssMb, rss);
    if (settling) run.settleRssMb = Math.max(run.settleRssMb, rss - settleBaseRss);
  }, 100);

  const started = performance.now();
  try {
    const slots = new Set<Promise<void>>();
    const invoke = async (batch: QueuedTask[]) => {
      run.invocations += 1;
      const invokedAt = Date.now();
      const invocationStarted = performance.now();
      await Promise.all(
        batch.map(async (task) => {
          const taskStarted = performance.now();
          if (task.kind === 'settle') {
            // What the settle task itself needs: measured from a collected heap (run with --expose-gc).
            (globalThis as { gc?: () => void }).gc?.();
            settling = true;
            settleBaseRss = process.memoryUsage().rss / 2 ** 20;
          }
          const deadline = invokedAt + timeoutMs - reserveMs;
          try {
            const result = await handleQueuedTask(task, {
              source: archiveSource,
              sink,
              sender,
              maxAttempts: 5,
              deadline,
            });
            run.tasks.push({ kind: task.kind, ms: performance.now() - taskStarted, result });
            if (result.kind === 'day-settled') run.settled = result;
            if (result.kind === 'day-planned' && result.incomplete) run.incomplete = result.incomplete;
          } catch (error) {
            run.tasks.push({ kind: task.kind, ms: performance.now() - taskStarted, error: String(error) });
            queue.push(task); // SQS delivers it again
          } finally {
            if (task.kind === 'settle') settling = false;
          }
        }),
      );
      run.invocationMs += performance.now() - invocationStarted;
    };
    while (queue.length > 0 || slots.size > 0) {
      while (queue.length > 0 && slots.size < WORKER_CONCURRENCY) {
        const slot: Promise<void> = invoke(queue.splice(0, BATCH_SIZE)).finally(() => slots.delete(slot));
        slots.add(slot);
      }
      if (slots.size > 0) await Promise.race(slots);
    }
  } finally {
    clearInterval(sampler);
    run.wallMs = performance.now() - started;
    await sim.close();
    await rm(work, { recursive: true, force: true });
  }
  return run;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function renderRun(run: SourceRun): string[] {
  const sizing = sizingFor(CHATS);
  const byKind = new Map<string, TaskRun[]>();
  for (const task of run.tasks) byKind.set(task.kind, [...(byKind.get(task.kind) ?? []), task]);
  const longest = run.tasks.reduce((a, b) => (b.ms > a.ms ? b : a));
  const failed = run.tasks.filter((task) => task.error);
  const chatObjects = ['chats', 'archives'].map((prefix) => run.objects.get(prefix) ?? { count: 0, bytes: 0 });
  const manifests = [...run.objects].filter(([prefix]) => prefix.startsWith('manifests'));
  const manifestCount = manifests.reduce((sum, [, entry]) => sum + entry.count, 0);
  const allBytes = [...run.objects.values()].reduce((sum, entry) => sum + entry.bytes, 0);
  const settled = run.settled?.kind === 'day-settled' ? run.settled : undefined;
  return [
    `| ${run.source} | tasks | ${fmt(run.tasks.length)} (${[...byKind].map(([kind, tasks]) => `${kind} ${fmt(tasks.length)}`).join(', ')}); ${fmt(run.invocations)} invocations; ${failed.length} failed |`,
    `| ${run.source} | longest task | ${sec(longest.ms)} (${longest.kind}); longest ${[...byKind].map(([kind, tasks]) => `${kind} ${sec(Math.max(...tasks.map((t) => t.ms)))}`).join(', ')} |`,
    `| ${run.source} | API requests | ${fmt(run.requests)} |`,
    `| ${run.source} | objects written | ${fmt(chatObjects[0]!.count)} in chats/, ${fmt(chatObjects[1]!.count)} in archives/, ${fmt(manifestCount)} in manifests/ (${manifests.map(([prefix, entry]) => `${prefix.replace('manifests/', '')} ${fmt(entry.count)}`).join(', ')}) |`,
    `| ${run.source} | bytes written | ${mib(allBytes)} (chats/ ${mib(chatObjects[0]!.bytes)}, archives/ ${mib(chatObjects[1]!.bytes)}) |`,
    `| ${run.source} | day | ${settled ? `${fmt(settled.chats)} chats settled` : 'not settled'}${run.incomplete ? `; reported incomplete: "${run.incomplete}"` : '; complete'} |`,
    `| ${run.source} | Lambda time | ${sec(run.invocationMs)} billed in all (sum of invocation durations); at ${sizing.workerMemoryMb} MB that is ${(((run.invocationMs / 1000) * sizing.workerMemoryMb) / 1024).toFixed(0)} GB-s |`,
    `| ${run.source} | wall time, memory | ${sec(run.wallMs)}; peak RSS ${fmt(run.peakRssMb)} MiB (the whole emulation, one process), settle task +${fmt(run.settleRssMb)} MiB over the collected heap before it |`,
  ];
}

const runs: SourceRun[] = [];
for (const source of ['v2', 'v3.6'] as const) {
  log(`${source}: ${fmt(CHATS)} chats, ${LATENCY_MS} ms a request…`);
  const run = await runSource(source);
  log(`${source}: ${sec(run.wallMs)}, ${run.tasks.length} tasks, ${run.requests} requests`);
  runs.push(run);
}

const sizing = sizingFor(CHATS);
const section = [
  MARK_START,
  `## 8. A ${fmt(CHATS)}-chat day through the queued path`,
  '',
  `Produced by \`npm run bench:day\` on ${new Date().toISOString().slice(0, 10)} (this machine, see above). One simulated day of ${fmt(CHATS)} chats, each API request answered after a **real ${LATENCY_MS} ms** (the simulator in its own process; no simulated clock), through the worker's task handler (\`handleQueuedTask\`: day task → page or slice tasks → settle task) behind an emulated SQS queue and Lambda: ${WORKER_CONCURRENCY} invocations at once (workerConcurrency), batches of ${BATCH_SIZE} records run in parallel, each record with the hand-off deadline of the worker sized for ${fmt(CHATS)} chats a day (timeout ${sizing.workerTimeoutSeconds} s, so no page starts after ${sizing.workerTimeoutSeconds - Math.floor(sizing.workerTimeoutSeconds * 0.75) - 5} s; v3.6 slices at most ${sizing.slicePagesPerTask} cursor pages a task). The lake is a local folder (the S3 sink's objects are the same keys and bodies).`,
  '',
  '| source | figure | measured |',
  '| --- | --- | --- |',
  ...runs.flatMap(renderRun),
  '',
  "v2 stops at LiveChat REST API v2's cap (the latest 25 000 records of a query: 1 000 pages) and reports the day incomplete with the v3.6 advice; v3.6 archives the day whole by hour slices, each read by a chain of bounded tasks (none reads more than its page limit, none starts a page after its hand-off deadline). The settle task reads the whole day's partition (both tables for v3.6) and writes it back merged: its memory sets the worker size for this volume (docs/sizing.md). Task times include CPU contention: the machine's 2 cores are shared, and every task of the emulation runs in this one process.",
  MARK_END,
].join('\n');

const resultsPath = join(BENCH_DIR, 'RESULTS.md');
const results = await readFile(resultsPath, 'utf8');
const start = results.indexOf(MARK_START);
const end = results.indexOf(MARK_END);
const updated =
  start >= 0 && end > start
    ? `${results.slice(0, start)}${section}${results.slice(end + MARK_END.length)}`
    : `${results.trimEnd()}\n\n${section}\n`;
await writeFile(resultsPath, updated);
process.stdout.write(`${section}\n`);
