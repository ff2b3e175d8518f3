import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { listFiles } from './lake-reader.ts';

/** A fresh copy of a lake folder, so each test changes its own. */
export async function copyLake(lake: string): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'lake-copy-'));
  await cp(lake, copy, { recursive: true });
  return copy;
}

/** Every file of a lake by relative path, with the SHA-256 of its bytes. */
export async function lakeSnapshot(lake: string): Promise<Map<string, string>> {
  const snapshot = new Map<string, string>();
  for (const file of await listFiles(lake)) {
    snapshot.set(
      file,
      createHash('sha256')
        .update(await readFile(join(lake, file)))
        .digest('hex'),
    );
  }
  return snapshot;
}

/** Every chat record of the lake's chat files as [file, its exact stored line], in file order. */
export async function lakeLines(lake: string): Promise<Array<[string, string]>> {
  const lines: Array<[string, string]> = [];
  for (const file of await listFiles(lake)) {
    if (!file.endsWith('.json.gz')) continue;
    const text = gunzipSync(await readFile(join(lake, file))).toString('utf8');
    for (const line of text.split('\n').filter(Boolean)) lines.push([file, line]);
  }
  return lines;
}
