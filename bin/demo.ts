#!/usr/bin/env node
import { demoCommand } from '#cli/demo-command.ts';
import { parseFlags } from '#cli/parse-flags.ts';
import { wantsHelp } from '#cli/run-command.ts';
import { InvalidInputError } from '#shared/errors.ts';

const DEMO_USAGE = `usage: npm run demo [-- --out DIR]
  simulator with faults and drift → archive the last 7 Europe/Warsaw days into DIR (default lake)
  → DuckDB summaries and a completeness check → report/report.html beside the lake`;

const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  process.stdout.write(`${DEMO_USAGE}\n`);
  process.exit(0);
}
try {
  const values = parseFlags(argv, { out: { type: 'string', default: 'lake' } });
  process.exitCode = await demoCommand({ lakeDir: values.out, stdout: process.stdout, stderr: process.stderr });
} catch (error) {
  const usage = error instanceof InvalidInputError;
  process.stderr.write(`error: ${(error as Error).message.split('\n')[0]}\n${usage ? `${DEMO_USAGE}\n` : ''}`);
  process.exitCode = usage ? 2 : 1;
}
