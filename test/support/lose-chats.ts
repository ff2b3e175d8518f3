import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

/** Damages a settled lake as a lost file would: the day's chats file loses its first `count` chats. Returns how many it lost. */
export function loseChats(lakeDir: string, day: string, count: number): number {
  const dir = join(lakeDir, 'chats', `dt=${day}`);
  const [file] = readdirSync(dir).filter((name) => name.endsWith('.json.gz'));
  const path = join(dir, file!);
  const lines = gunzipSync(readFileSync(path)).toString('utf8').split('\n').filter(Boolean);
  writeFileSync(path, gzipSync(`${lines.slice(count).join('\n')}\n`));
  return Math.min(count, lines.length);
}
