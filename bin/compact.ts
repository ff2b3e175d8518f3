#!/usr/bin/env node
import { compactCommand } from '#cli/compact-command.ts';

process.exitCode = await compactCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
