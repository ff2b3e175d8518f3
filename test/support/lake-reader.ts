import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';

/** Every chat id in a local lake, by partition day, in file order. */
export async function chatIdsByDay(lakeDir: string): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  const chatsDir = join(lakeDir, 'chats');
  if (!existsSync(chatsDir)) return result;
  for (const partition of (await readdir(chatsDir)).sort()) {
    const day = partition.replace(/^dt=/, '');
    const ids: string[] = [];
    for (const file of (await readdir(join(chatsDir, partition))).sort()) {
      if (!file.endsWith('.json.gz')) continue;
      const chats = await decodeNdjsonGzip<{ id: string }>(await readFile(join(chatsDir, partition, file)));
      ids.push(...chats.map((chat) => chat.id));
    }
    result.set(day, ids);
  }
  return result;
}

/** All files under a folder (relative paths), for "nothing written" and "unchanged" checks. */
export async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

export function duplicatesOf(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    if (seen.has(id)) return true;
    seen.add(id);
    return false;
  });
}

/** Opens the local lake, runs one named query and closes the lake again. */
export async function runNamedOnce(lakeDir: string, name: string, days?: { from: string; to: string }) {
  const lake = await openLocalLake(lakeDir);
  try {
    return await lake.runNamed(name, days);
  } finally {
    await lake.close();
  }
}

/** The run manifest of a local lake that sorts last by file name (`manifests/runs/<run id>.json`). */
export async function latestRunManifest(lakeDir: string): Promise<RunManifest> {
  const runs = join(lakeDir, 'manifests', 'runs');
  const key = (await listFiles(runs)).filter((file) => file.endsWith('.json')).at(-1);
  if (!key) throw new Error(`no run manifest in ${runs}`);
  return JSON.parse(await readFile(join(runs, key), 'utf8')) as RunManifest;
}
