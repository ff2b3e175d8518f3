import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchConfig } from '#bench/support/config.ts';
import { type Breakdown, CATEGORIES, categorize, emptyBreakdown, readProfile } from '#bench/support/cpu-profile.ts';
import type { ExitUsage } from '#bench/support/exit-usage.ts';
import { PROJECT_ROOT, type SimulatorProcess, startSimulatorProcess } from '#bench/support/processes.ts';
import { kb, loadAverage, median, type Section, s, times } from '#bench/support/report.ts';
import { daysInRange } from '#shared/day-range.ts';
import { fetchPageText } from './worker-cost.ts';

const TSX_LOADER = import.meta.resolve('tsx');
const EXIT_USAGE = new URL('../support/exit-usage.ts', import.meta.url).pathname;
const PAGES_PER_DAY = 25;

interface CliRun {
  wallMs: number;
  /** From the CLI's first line ("archiving N day(s) …") to its exit: the run without Node's start and module loading. */
  runMs: number;
  usage: ExitUsage;
  profile?: { busyMs: number; byCategory: Breakdown };
  exitCode: number | null;
}

/**
 * `npm run archive` as its script runs it (`node --import tsx bin/archive.ts …`; npm itself left
 * out), into a fresh folder, with the process's CPU time recorded at exit and, if asked, a CPU profile.
 */
async function runCli(
  sim: SimulatorProcess,
  from: string,
  to: string,
  options: { concurrency: number; profile: boolean; work: string },
): Promise<CliRun> {
  const out = await mkdtemp(join(options.work, 'lake-'));
  const usageFile = join(options.work, `usage-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  const profileDir = await mkdtemp(join(options.work, 'profile-'));
  const args = [
    ...(options.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    '--import',
    TSX_LOADER,
    '--import',
    EXIT_USAGE,
    'bin/archive.ts',
    '--from',
    from,
    '--to',
    to,
    '--out',
    out,
    '--api-url',
    sim.url,
    '--concurrency',
    String(options.concurrency),
  ];
  const started = performance.now();
  let firstLineAt: number | undefined;
  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LIVECHAT_LOGIN: sim.login, LIVECHAT_API_KEY: sim.apiKey, BENCH_USAGE_FILE: usageFile },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    firstLineAt ??= performance.now();
    stderr += chunk;
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const ended = performance.now();
  if (exitCode !== 0) throw new Error(`npm run archive exited ${exitCode}: ${stderr.slice(-500)}`);
  const usage = JSON.parse(await readFile(usageFile, 'utf8')) as ExitUsage;
  const profile = options.profile ? categorize(await readProfile(profileDir)) : undefined;
  await rm(out, { recursive: true, force: true });
  await rm(profileDir, { recursive: true, force: true });
  return {
    wallMs: ended - started,
    runMs: ended - (firstLineAt ?? started),
    usage,
    ...(profile ? { profile } : {}),
    exitCode,
  };
}

const cpuMs = (run: CliRun) => run.usage.userMs + run.usage.systemMs;

interface PerPage {
  cpuMs: number;
  userMs: number;
  systemMs: number;
  /** The main thread's CPU time (what the profile samples); the rest is libuv's thread pool, GC helpers and the kernel for them. */
  mainThreadMs: number;
  /** Busy time the profile recorded: above the main thread's CPU time when the machine is loaded (a sample counts wall time). */
  profiledMs: number;
  /** The profile's shares of the main thread's CPU time, per category. */
  byCategory: Breakdown;
}

/** What the pages of the long run cost beyond the one-day run: start-up and module loading cancel out. */
function perPage(short: CliRun, long: CliRun, extraPages: number): PerPage {
  const profiledMs = (long.profile!.busyMs - short.profile!.busyMs) / extraPages;
  const mainThreadMs =
    ((long.usage.mainThreadMs ?? Number.NaN) - (short.usage.mainThreadMs ?? Number.NaN)) / extraPages;
  // Samples count wall time while the thread waits for a core: scaled to the thread's CPU time, category by category.
  const scale = Number.isFinite(mainThreadMs) && profiledMs > 0 ? mainThreadMs / profiledMs : 1;
  const byCategory = emptyBreakdown();
  for (const category of CATEGORIES) {
    byCategory[category] =
      ((long.profile!.byCategory[category] - short.profile!.byCategory[category]) / extraPages) * scale;
  }
  return {
    cpuMs: (cpuMs(long) - cpuMs(short)) / extraPages,
    userMs: (long.usage.userMs - short.usage.userMs) / extraPages,
    systemMs: (long.usage.systemMs - short.usage.systemMs) / extraPages,
    mainThreadMs,
    profiledMs,
    byCategory,
  };
}

/** The middle pair of runs (by CPU per page), so one breakdown and its total come from the same runs. */
function medianPair(pairs: readonly PerPage[]): PerPage {
  return [...pairs].sort((a, b) => a.cpuMs - b.cpuMs)[Math.floor(pairs.length / 2)]!;
}

/**
 * Issue 22, point 5: CPU per realistic ~120 KB page through the whole CLI path, by CPU profile,
 * and the CLI's wall time against the latency bound at 50 ms and concurrency 8.
 */
export async function cliCpu(config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const { from, longTo, messagesPerChat, repeats, concurrency, latency } = config.cliCpu;
  const days = daysInRange(from, longTo);
  const extraPages = (days.length - 1) * PAGES_PER_DAY;
  const work = await mkdtemp(join(tmpdir(), 'livechat-bench-cli-cpu-'));
  const loadBefore = loadAverage();
  try {
    const sim = await startSimulatorProcess({
      from,
      to: longTo,
      chatsPerDay: PAGES_PER_DAY * PAGES_PER_DAY,
      messagesPerChat,
    });
    let pageBytes: number[];
    const pairs: PerPage[] = [];
    try {
      pageBytes = [];
      for (let page = 1; page <= PAGES_PER_DAY; page += 1) {
        pageBytes.push(Buffer.byteLength(await fetchPageText(sim, from, page)));
      }
      log(`  pages of ${from}: median ${kb(median(pageBytes))}`);
      for (let index = 0; index < repeats; index += 1) {
        const short = await runCli(sim, from, from, { concurrency, profile: true, work });
        const long = await runCli(sim, from, longTo, { concurrency, profile: true, work });
        const pair = perPage(short, long, extraPages);
        pairs.push(pair);
        log(
          `  CPU per page ${pair.cpuMs.toFixed(2)} ms (user ${pair.userMs.toFixed(2)}, system ${pair.systemMs.toFixed(2)}; main thread ${pair.mainThreadMs.toFixed(2)}, profiled ${pair.profiledMs.toFixed(2)})`,
        );
      }
    } finally {
      await sim.close();
    }

    const latencyDays = daysInRange(latency.from, latency.to);
    const latencyPages = latencyDays.length * PAGES_PER_DAY;
    const boundMs = (latencyPages * latency.latencyMs) / concurrency;
    const slow = await startSimulatorProcess({
      from: latency.from,
      to: latency.to,
      chatsPerDay: PAGES_PER_DAY * PAGES_PER_DAY,
      latencyMs: latency.latencyMs,
      messagesPerChat,
    });
    const latencyRuns: CliRun[] = [];
    try {
      for (let index = 0; index < repeats; index += 1) {
        const run = await runCli(slow, latency.from, latency.to, { concurrency, profile: false, work });
        latencyRuns.push(run);
        log(
          `  ${latencyPages} pages at ${latency.latencyMs} ms: ${s(run.runMs)} from the first line (${s(run.wallMs)} whole process)`,
        );
      }
    } finally {
      await slow.close();
    }
    const loadAfter = loadAverage();

    const middle = medianPair(pairs);
    const cpuPerPage = median(pairs.map((pair) => pair.cpuMs));
    const runMs = median(latencyRuns.map((run) => run.runMs));
    const wallMs = median(latencyRuns.map((run) => run.wallMs));
    const ratio = runMs / boundMs;
    const breakdown = CATEGORIES.filter((category) => Math.abs(middle.byCategory[category]) >= 0.005)
      .sort((a, b) => middle.byCategory[b] - middle.byCategory[a])
      .map((category) => `${category} ${middle.byCategory[category].toFixed(2)}`)
      .join(', ');
    return {
      title: '10. CPU per page through the CLI (issue 22, point 5)',
      rows: [
        {
          id: '10.1',
          metric: `CPU (user + system, every thread) per ~${kb(median(pageBytes), 0)} page through \`npm run archive\` (v2 simulator, ${days.length} days less 1 day, concurrency ${concurrency}, median of ${repeats})`,
          measured: `${cpuPerPage.toFixed(2)} ms`,
          target: '≤ 4 ms',
          met: cpuPerPage <= 4,
        },
        {
          id: '10.2',
          metric:
            'of it: the main thread (what the CPU profile samples) / the other threads (libuv thread pool: gzip, file system calls; GC helpers)',
          measured: `${middle.mainThreadMs.toFixed(2)} ms / ${(middle.cpuMs - middle.mainThreadMs).toFixed(2)} ms`,
          target: '—',
          met: undefined,
        },
        {
          id: '10.3',
          metric: `\`npm run archive\`, ${latencyPages} pages at ${latency.latencyMs} ms latency, concurrency ${concurrency}: wall time from its first line to exit ÷ bound (${s(boundMs)}), median of ${repeats}`,
          measured: `${times(ratio)} (${s(runMs)}; whole process ${s(wallMs)})`,
          target: '≤ 1.3 ×',
          met: ratio <= 1.3,
        },
      ],
      notes: [
        `The simulator (its own process) serves ${PAGES_PER_DAY * PAGES_PER_DAY} chats a day with ${messagesPerChat.min}–${messagesPerChat.max} messages per answered chat (\`messagesPerChat\`), the full documented v2 chat object as the simulator always serves it: pages of ${kb(Math.min(...pageBytes))}–${kb(Math.max(...pageBytes))}, median ${kb(median(pageBytes))}. Each measurement runs the CLI exactly as \`npm run archive\` does (\`node --import tsx bin/archive.ts --from … --to … --out <fresh folder> --api-url <simulator> --concurrency ${concurrency}\`, attachments on by default: the simulator's file URLs are not on the allowed hosts, so each file reference gets a \`chat_files\` row and nothing is downloaded) with \`--cpu-prof\`, and \`bench/support/exit-usage.ts\` preloaded to record \`process.resourceUsage()\` at exit.`,
        `CPU per page is the difference between a ${days.length}-day run and a 1-day run (start-up, module loading and the per-run lake checks cancel out), divided by the ${extraPages} pages between them; it includes planning, settling each day, its \`chat_files\` rows and the run manifest, as a run does them. Per run pair: ${pairs.map((pair) => `${pair.cpuMs.toFixed(2)} ms`).join(', ')}.`,
        `Profile of the median pair: the main thread's CPU time per page (${middle.mainThreadMs.toFixed(2)} ms, from \`/proc/self/task/<pid>/stat\`) shared out by the profile's self time per category (\`bench/support/cpu-profile.ts\`; the profile recorded ${middle.profiledMs.toFixed(2)} ms per page: a sample counts wall time, which exceeds CPU time while the thread waits for a core), in ms: ${breakdown}. The profile sees the main thread only: gzip itself and the file system's system calls run in libuv's thread pool (row 10.2's second figure). User / system time per page: ${middle.userMs.toFixed(2)} / ${middle.systemMs.toFixed(2)} ms.`,
        `Load average (1, 5, 15 min) ${loadBefore} before, ${loadAfter} after (2 cores, shared with other work).`,
      ],
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
