import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM } from './browser.ts';

/**
 * vitest global setup: the report's browser test needs Debian's Chromium. On a fresh machine
 * (root, apt reachable) `npm test` installs it once here, so the README's test command works
 * as written; where it cannot, the browser test fails with its own message — it never skips.
 */
export default function provisionBrowser(): void {
  if (existsSync(CHROMIUM) || process.getuid?.() !== 0) return;
  console.log(`${CHROMIUM} is missing: installing Debian's chromium package (apt-get, about a minute)…`);
  try {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 15 * 60_000,
    });
  } catch (error) {
    console.error(`could not install chromium: ${(error as Error).message.split('\n')[0]}`);
  }
}
