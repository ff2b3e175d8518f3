/**
 * `*.partial` files are what a killed writer leaves (a folder lake writes a temporary file, then
 * renames it into place). One may hold whole chats, so erase and prune must not leave it, and the
 * next run over the day deletes it; a live process's partial is its write in flight and stays.
 */
import { copyFile, cp, mkdtemp, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageKey } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

const DAY = '2026-05-10';
const PASS = { runId: 'run-1', attempt: 1, plan: 'p1' };
let sim: RunningSimulator;
let lake: string;

/** A pid no process has: the writer that left the partial is gone. */
function deadPid(): number {
  for (let pid = 4_000_000; ; pid -= 1) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

beforeAll(async () => {
  sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 60, seed: 13 });
  lake = (await archiveLocally(sim, [DAY])).out;
});
afterAll(() => sim.close());

/** A copy of the lake with leftovers beside page 1: a dead writer's, an old-style one (2 h old), a live one's. */
async function lakeWithLeftovers() {
  const dir = join(await mkdtemp(join(tmpdir(), 'partials-')), 'lake');
  await cp(lake, dir, { recursive: true });
  // The day's chats file (settled), copied under the names of three pages a writer was putting in place.
  const [settled] = await new LocalFileSink(dir).list(`chats/dt=${DAY}/`);
  const page = join(dir, settled!);
  const dead = `${pageKey(DAY, 1, PASS)}.${deadPid()}-abcdef012345.partial`;
  const oldStyle = `${pageKey(DAY, 2, PASS)}.abcdef012345.partial`;
  const live = `${pageKey(DAY, 3, PASS)}.${process.pid}-abcdef012345.partial`;
  for (const key of [dead, oldStyle, live]) await copyFile(page, join(dir, key));
  const twoHoursAgo = new Date(Date.now() - 7_200_000);
  await utimes(join(dir, oldStyle), twoHoursAgo, twoHoursAgo);
  const partials = async () => (await listFiles(join(dir, 'chats'))).filter((f) => f.endsWith('.partial'));
  return { dir, dead, oldStyle, live, partials, settled: settled! };
}

describe('.partial leftovers of killed writers', () => {
  it('erase deletes those of dead processes (one holds the visitor’s chats) and keeps a live one', async () => {
    const { dir, dead, oldStyle, live, partials, settled } = await lakeWithLeftovers();
    const first = (await decodeNdjsonGzip(await new LocalFileSink(dir).get(settled).then((b) => b!)))[0]!;
    const result = await eraseVisitor({
      sink: new LocalFileSink(dir),
      target: { kind: 'visitor-id', value: String(first['visitor_id']) },
    });
    expect(result.leftovers).toEqual([dead, oldStyle].sort());
    expect(await partials()).toEqual([live.slice('chats/'.length)]);
  });

  it('prune deletes them too (not on a dry run)', async () => {
    const { dir, live, partials } = await lakeWithLeftovers();
    const dry = await pruneLocalLake({ dir, olderThanDays: 365, dryRun: true });
    expect(dry.leftovers).toEqual([]);
    expect(await partials()).toHaveLength(3);
    const result = await pruneLocalLake({ dir, olderThanDays: 365 });
    expect(result.leftovers).toHaveLength(2);
    expect(result.files).toEqual([]);
    expect(await partials()).toEqual([live.slice('chats/'.length)]);
  });

  it('the next archive run over the day deletes them', async () => {
    const { dir, live, partials } = await lakeWithLeftovers();
    await archiveLocally(sim, [DAY], { sink: () => new LocalFileSink(dir) });
    expect(await partials()).toEqual([live.slice('chats/'.length)]);
  });
});
