import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Debian's `chromium` package; `.ci/run` installs it on a machine that lacks it. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Headless Chromium with a fresh profile and no background traffic of its own. Throws when it is missing. */
export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it with apt-get install -y chromium (.ci/run does this), or set CHROMIUM_PATH`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  return puppeteer.launch({
    executablePath,
    headless: true, // --headless=new
    userDataDir: profile,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export interface PageLog {
  consoleErrors: string[];
  requests: string[];
}

/** Records console errors, uncaught page errors and every request the page makes. */
export function watchPage(page: Page): PageLog {
  const log: PageLog = { consoleErrors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') log.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => log.consoleErrors.push(String(error)));
  page.on('requestfailed', (request) => log.consoleErrors.push(`request failed: ${request.url()}`));
  page.on('request', (request) => log.requests.push(request.url()));
  return log;
}
