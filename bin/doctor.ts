#!/usr/bin/env node
import { doctorCommand } from '#cli/doctor-command.ts';

process.exitCode = await doctorCommand(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
