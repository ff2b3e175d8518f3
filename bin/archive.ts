#!/usr/bin/env node
import { archiveCommand } from '#cli/archive-command.ts';

const abort = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write(
    '\ninterrupted: finishing pages in flight, then stopping (run the same command again to complete)\n',
  );
  abort.abort();
});

process.exitCode = await archiveCommand(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: abort.signal,
});
