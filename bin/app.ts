#!/usr/bin/env node
import { createArchiverApp } from '../lib/archiver-app.ts';
import { ConfigError } from '../lib/config.ts';

try {
  createArchiverApp();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
