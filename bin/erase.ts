#!/usr/bin/env node
import { eraseCommand } from '#cli/erase-command.ts';

const abort = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\ninterrupted: finishing files in flight (run the same command again to complete)\n');
  abort.abort();
});

process.exitCode = await eraseCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: abort.signal,
});
