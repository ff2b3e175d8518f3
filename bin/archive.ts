#!/usr/bin/env node
import { archiveCommand } from '#cli/archive-command.ts';
import { abortOnInterrupt } from '#cli/interrupt.ts';

const signal = abortOnInterrupt(
  'interrupted: finishing pages in flight, then stopping (run the same command again to resume)',
);

process.exitCode = await archiveCommand(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal,
});
