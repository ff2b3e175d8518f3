#!/usr/bin/env node
import { reportCommand } from '#cli/report-command.ts';

process.exitCode = await reportCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
