/**
 * Ctrl-C in a terminal reaches every process of the foreground group: `npm`, the shell, tsx and
 * the command. npm and tsx then relay it once more, so the command sees two or three SIGINTs
 * within milliseconds. The first starts a clean stop (pages in flight finish, the summary and
 * manifest are written); repeats within `graceMs` are that same keypress and are ignored; a
 * later Ctrl-C stops at once.
 */
export function abortOnInterrupt(message: string, graceMs = 1_000): AbortSignal {
  const abort = new AbortController();
  let firstAt = 0;
  process.on('SIGINT', () => {
    if (!abort.signal.aborted) {
      firstAt = Date.now();
      process.stderr.write(`\n${message}\n`);
      abort.abort();
    } else if (Date.now() - firstAt > graceMs) {
      process.stderr.write('\ninterrupted again: stopping now\n');
      process.exit(130);
    }
  });
  return abort.signal;
}
