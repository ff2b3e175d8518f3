#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { demoCommand } from '#cli/demo-command.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'lake' } } });

try {
  process.exitCode = await demoCommand({ lakeDir: values.out, stdout: process.stdout, stderr: process.stderr });
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
