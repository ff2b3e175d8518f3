#!/usr/bin/env node
import { webhooksCommand } from '#cli/webhooks-command.ts';

// Ctrl-C (npm and tsx relay it, so it may arrive twice) and SIGTERM both start one clean stop.
const stop = new AbortController();
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  process.on(name, () => {
    if (!stop.signal.aborted) stop.abort();
  });
}

process.exitCode = await webhooksCommand(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
});
