import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface NaiveOptions {
  url: string;
  login: string;
  apiKey: string;
  days: readonly string[];
  outDir: string;
}

export interface NaiveResult {
  requests: number;
  chats: number;
}

/**
 * The baseline: what one would write without the archiver. Page after page with
 * plain fetch, one request at a time, no retries, no validation; all chats of a day
 * gathered in memory and written as one JSON array file `<day>.json`.
 */
export async function naiveArchive(options: NaiveOptions): Promise<NaiveResult> {
  const headers = {
    Authorization: `Basic ${Buffer.from(`${options.login}:${options.apiKey}`).toString('base64')}`,
    'X-API-Version': '2',
    Accept: 'application/json',
  };
  let requests = 0;
  let total = 0;
  for (const day of options.days) {
    const chats: unknown[] = [];
    let page = 1;
    let pages = 1;
    do {
      const response = await fetch(`${options.url}/chats?date_from=${day}&date_to=${day}&page=${page}`, { headers });
      requests += 1;
      if (!response.ok) throw new Error(`naive paginator: HTTP ${response.status} on ${day} page ${page}`);
      const body = (await response.json()) as { chats: unknown[]; pages: number };
      chats.push(...body.chats);
      pages = body.pages;
      page += 1;
    } while (page <= pages);
    await writeFile(join(options.outDir, `${day}.json`), JSON.stringify(chats));
    total += chats.length;
  }
  return { requests, chats: total };
}
