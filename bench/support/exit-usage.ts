/**
 * Preloaded into a measured process (`node --import <this file> …`): at exit it writes the
 * process's own CPU time (user and system, every thread: the main thread, libuv's thread pool
 * with zlib and file system calls, GC helpers) and peak RSS to `$BENCH_USAGE_FILE` as JSON.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface ExitUsage {
  userMs: number;
  systemMs: number;
  /** The main thread's own user + system time (Linux: /proc/self/task/<pid>/stat, 10 ms ticks); undefined elsewhere. */
  mainThreadMs: number | undefined;
  /** Every thread's user + system time by thread name (`libuv-worker`: zlib and file system calls; `V8 DefaultWorke`: GC and compilation helpers). */
  threadsMs: Record<string, number>;
  maxRssBytes: number;
}

/** utime + stime of one thread, in ms (clock ticks of 10 ms, as Linux reports them to user space), and its name. */
function threadTime(tid: string): { name: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      ms: (Number(fields[11]) + Number(fields[12])) * 10,
    };
  } catch {
    return undefined;
  }
}

function threadsByName(): Record<string, number> {
  const byName: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const thread = threadTime(tid);
      if (thread && tid !== String(process.pid)) byName[thread.name] = (byName[thread.name] ?? 0) + thread.ms;
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return byName;
}

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.once('exit', () => {
    const usage = process.resourceUsage();
    const result: ExitUsage = {
      userMs: usage.userCPUTime / 1000,
      systemMs: usage.systemCPUTime / 1000,
      mainThreadMs: threadTime(String(process.pid))?.ms,
      threadsMs: threadsByName(),
      maxRssBytes: usage.maxRSS * 1024,
    };
    writeFileSync(file, JSON.stringify(result));
  });
}
