/**
 * Preloaded into a measured process (`node --import <this file> …`): at exit it writes the
 * process's own CPU time (user and system, every thread: the main thread, libuv's thread pool
 * with zlib and file system calls, GC helpers) and peak RSS to `$BENCH_USAGE_FILE` as JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ExitUsage {
  userMs: number;
  systemMs: number;
  /** The main thread's own user + system time (Linux: /proc/self/task/<pid>/stat, 10 ms ticks); undefined elsewhere. */
  mainThreadMs: number | undefined;
  maxRssBytes: number;
}

/** utime + stime of the main thread, in ms (clock ticks of 10 ms, as Linux reports them to user space). */
function mainThreadMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.once('exit', () => {
    const usage = process.resourceUsage();
    const result: ExitUsage = {
      userMs: usage.userCPUTime / 1000,
      systemMs: usage.systemCPUTime / 1000,
      mainThreadMs: mainThreadMs(),
      maxRssBytes: usage.maxRSS * 1024,
    };
    writeFileSync(file, JSON.stringify(result));
  });
}
