#!/usr/bin/env node
import { createArchiverApp } from '#infra/archiver-app.ts';
import { ConfigError } from '#infra/config.ts';

try {
  createArchiverApp();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
