#!/usr/bin/env node
import { pruneCommand } from '#cli/prune-command.ts';

process.exitCode = await pruneCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
