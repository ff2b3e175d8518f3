#!/usr/bin/env node
import { eraseCommand } from '#cli/erase-command.ts';
import { abortOnInterrupt } from '#cli/interrupt.ts';

const signal = abortOnInterrupt('interrupted: finishing files in flight (run the same command again to complete)');

process.exitCode = await eraseCommand(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal,
});
