import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { daysInRange } from '#shared/day-range.ts';
import { localDay } from '#shared/time-zone.ts';

interface LakeRow {
  id: string;
  started_timestamp: number;
}

/** Every row of a local lake with its partition day. */
export async function lakeRows(lakeDir: string): Promise<Array<LakeRow & { dt: string }>> {
  const rows: Array<LakeRow & { dt: string }> = [];
  const chatsDir = join(lakeDir, 'chats');
  for (const partition of await readdir(chatsDir)) {
    for (const file of await readdir(join(chatsDir, partition))) {
      if (!file.endsWith('.json.gz')) continue;
      const chats = await decodeNdjsonGzip<LakeRow>(await readFile(join(chatsDir, partition, file)));
      rows.push(...chats.map((chat) => ({ ...chat, dt: partition.replace(/^dt=/, '') })));
    }
  }
  return rows;
}

/**
 * The lake holds, in each partition dt from..to, exactly the chats that `expected` says started
 * on that local day, each once, and every row's start is on its partition's day in `zone`.
 */
export async function expectLakeCutIn(
  lakeDir: string,
  zone: string,
  from: string,
  to: string,
  expected: (day: string) => ReadonlyArray<{ id: string }>,
): Promise<Map<string, string[]>> {
  const rows = await lakeRows(lakeDir);
  const misplaced = rows.filter((row) => localDay(row.started_timestamp * 1000, zone) !== row.dt);
  expect(misplaced, `rows outside their local day in ${zone}`).toEqual([]);
  const byDay = new Map<string, string[]>();
  for (const day of daysInRange(from, to)) {
    const ids = rows.filter((row) => row.dt === day).map((row) => row.id);
    expect(new Set(ids).size, `duplicates on ${day}`).toBe(ids.length);
    expect([...ids].sort(), `chats of ${day}`).toEqual(
      expected(day)
        .map((chat) => chat.id)
        .sort(),
    );
    byDay.set(day, ids.sort());
  }
  expect(
    rows.every((row) => byDay.has(row.dt)),
    'no partition outside the range',
  ).toBe(true);
  return byDay;
}
