import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where this run's temporary folders go (tests, and the commands they start, inherit TMPDIR). */
export const TEMP_ROOT_VARIABLE = 'LIVECHAT_ARCHIVER_TEST_TMP';

/**
 * vitest global setup: one temporary root for the whole run. Every test worker, and every CLI a
 * test starts, inherits it as TMPDIR, so `mkdtemp(join(tmpdir(), …))` lands inside it; the
 * teardown removes it, so a test run leaves no temporary folder behind, passed or failed.
 */
export default function tempRoot(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'livechat-archiver-tests-'));
  process.env.TMPDIR = root;
  process.env[TEMP_ROOT_VARIABLE] = root;
  return () => rmSync(root, { recursive: true, force: true });
}
