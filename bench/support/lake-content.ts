import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';

/** Chat ids per day, in file order (duplicates kept, so they can be detected). */
export type IdsByDay = Map<string, string[]>;

export interface LakeContent {
  ids: IdsByDay;
  files: number;
  bytes: number;
}

/** Reads every chat file `chats/dt=<day>/*.json.gz` of a local lake (pass files and settled day files). */
export async function readLakeIds(lakeDir: string): Promise<LakeContent> {
  const ids: IdsByDay = new Map();
  let files = 0;
  let bytes = 0;
  const chatsDir = join(lakeDir, 'chats');
  for (const partition of (await readdir(chatsDir)).sort()) {
    const day = /^dt=(\d{4}-\d{2}-\d{2})$/.exec(partition)?.[1];
    if (!day) continue;
    const list: string[] = [];
    for (const file of (await readdir(join(chatsDir, partition))).sort()) {
      if (!file.endsWith('.json.gz')) continue;
      const body = await readFile(join(chatsDir, partition, file));
      files += 1;
      bytes += body.byteLength;
      for (const record of await decodeNdjsonGzip<{ id: string }>(body)) list.push(record.id);
    }
    ids.set(day, list);
  }
  return { ids, files, bytes };
}

/** Reads the naive baseline's `<day>.json` files. */
export async function readNaiveIds(dir: string): Promise<LakeContent> {
  const ids: IdsByDay = new Map();
  let files = 0;
  let bytes = 0;
  for (const file of (await readdir(dir)).sort()) {
    const day = /^(\d{4}-\d{2}-\d{2})\.json$/.exec(file)?.[1];
    if (!day) continue;
    files += 1;
    bytes += (await stat(join(dir, file))).size;
    const chats = JSON.parse(await readFile(join(dir, file), 'utf8')) as Array<{ id: string }>;
    ids.set(
      day,
      chats.map((chat) => chat.id),
    );
  }
  return { ids, files, bytes };
}

export interface ContentComparison {
  identical: boolean;
  days: number;
  chats: number;
  problems: string[];
}

/** Same days, and for each day the same set of chat ids with no duplicate on either side. */
export function compareIds(pipeline: IdsByDay, naive: IdsByDay): ContentComparison {
  const problems: string[] = [];
  const days = new Set([...pipeline.keys(), ...naive.keys()]);
  let chats = 0;
  for (const day of [...days].sort()) {
    const a = pipeline.get(day);
    const b = naive.get(day);
    if (!a || !b) {
      problems.push(`${day}: only in the ${a ? 'pipeline' : 'naive'} output`);
      continue;
    }
    const setA = new Set(a);
    const setB = new Set(b);
    if (setA.size !== a.length) problems.push(`${day}: pipeline has ${a.length - setA.size} duplicate id(s)`);
    if (setB.size !== b.length) problems.push(`${day}: naive has ${b.length - setB.size} duplicate id(s)`);
    const onlyA = [...setA].filter((id) => !setB.has(id));
    const onlyB = [...setB].filter((id) => !setA.has(id));
    if (onlyA.length || onlyB.length) {
      problems.push(`${day}: ${onlyA.length} id(s) only in the pipeline, ${onlyB.length} only in the naive output`);
    }
    chats += setA.size;
  }
  return { identical: problems.length === 0, days: days.size, chats, problems };
}
