/**
 * Issue 28, item 6 (erase and prune): `npm run erase` and `npm run prune` killed with SIGKILL at
 * random moments, several times, then run once more to the end: the erased visitor's chats are in
 * no file, every other chat is in the lake exactly once (prune: every chat of the days it keeps),
 * and no leftover of the killed runs (`*.partial`, locks) remains among the chat files.
 */
import { existsSync } from 'node:fs';
import { readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { recordHasIdentifier, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { addDays } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { mulberry32 } from '#simulator/prng.ts';
import { spawnCli } from '#test/support/cli-runner.ts';
import { duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

const FROM = '2026-02-01';
const DAYS = Array.from({ length: 30 }, (_, i) => addDays(FROM, i));
const KILLS = 6;
let sim: RunningSimulator;
let lake: string;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 100, seed: 31 });
  lake = (await archiveLocally(sim, DAYS)).out;
}, 60_000);
afterAll(() => sim.close());

type Chat = Record<string, unknown>;

async function lakeChats(dir: string): Promise<{ chats: Chat[]; workFiles: string[] }> {
  const chats: Chat[] = [];
  const files = await listFiles(join(dir, 'chats'));
  for (const file of files.filter((f) => f.endsWith('.json.gz'))) {
    chats.push(...(await decodeNdjsonGzip<Chat>(await readFile(join(dir, 'chats', file)))));
  }
  return { chats, workFiles: files.filter((f) => !f.endsWith('.json.gz')) };
}

function start(bin: string, args: string[]) {
  return spawnCli(bin, args);
}

/**
 * Runs the command and kills it with SIGKILL at a random moment: `delay` ms after its first
 * visible change to the lake (`changed` turns true), or at once if it finishes first.
 */
async function killMidway(bin: string, args: string[], changed: () => Promise<boolean>, delay: number) {
  const run = start(bin, args);
  let finished = false;
  void run.done.then(() => (finished = true));
  while (!finished && !(await changed())) await new Promise((resolve) => setTimeout(resolve, 1));
  await new Promise((resolve) => setTimeout(resolve, delay));
  const finishedFirst = finished;
  run.child.kill('SIGKILL');
  await run.done;
  return finishedFirst;
}

async function copyLake(): Promise<string> {
  const { cp, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = join(await mkdtemp(join(tmpdir(), 'crash-lake-')), 'lake');
  await cp(lake, dir, { recursive: true });
  return dir;
}

describe('SIGKILL during erase and prune (issue 28, item 6)', { timeout: 180_000 }, () => {
  it('erase killed several times, then run once more: the visitor is gone, every other chat is there once', async () => {
    const dir = await copyLake();
    const all = DAYS.flatMap((day) => sim.chats(day));
    const counts = new Map<string, number>();
    for (const chat of all) counts.set(String(chat['visitor_id']), (counts.get(String(chat['visitor_id'])) ?? 0) + 1);
    const [visitorId] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    const target: VisitorIdentifier = { kind: 'visitor-id', value: visitorId };
    expect(counts.get(visitorId)).toBeGreaterThan(1);
    const random = mulberry32(7);
    const records = join(dir, 'manifests', 'erasures');
    // Each erase run rewrites the erasure record first: its mtime says the run has begun its work.
    const recordTime = async () => {
      let latest = 0;
      for (const file of existsSync(records) ? await listFiles(records) : []) {
        // A temporary file seen in the listing may be renamed before its stat.
        const info = await stat(join(records, file)).catch(() => undefined);
        latest = Math.max(latest, info?.mtimeMs ?? 0);
      }
      return latest;
    };
    let killedMidway = 0;
    for (let kill = 0; kill < KILLS; kill += 1) {
      const before = await recordTime();
      const finished = await killMidway(
        'bin/erase.ts',
        ['--visitor-id', visitorId, '--out', dir, '--concurrency', '1'],
        async () => (await recordTime()) > before,
        Math.floor(random() * 200),
      );
      if (!finished) killedMidway += 1;
    }
    expect(killedMidway).toBeGreaterThan(0);
    const last = start('bin/erase.ts', ['--visitor-id', visitorId, '--out', dir]);
    expect(await last.done, last.output()).toBe(0);

    const { chats, workFiles } = await lakeChats(dir);
    expect(chats.filter((chat) => recordHasIdentifier(chat, target))).toEqual([]);
    expect(duplicatesOf(chats.map((chat) => String(chat['id'])))).toEqual([]);
    const expected = all.filter((chat) => !recordHasIdentifier(chat, target)).map((chat) => String(chat['id']));
    expect(chats.map((chat) => String(chat['id'])).sort()).toEqual(expected.sort());
    expect(workFiles).toEqual([]);
  });

  it('prune killed several times, then run once more: the old days are gone, every chat of the other days is there once', async () => {
    const old = DAYS.slice(0, 24);
    // The lake with 24 days past the cutoff, and a leftover of a killed archive run: a whole file
    // that was never renamed into place.
    const pruneableLake = async (): Promise<{ dir: string; leftover: string }> => {
      const dir = await copyLake();
      const now = Date.now();
      for (const day of old) {
        for (const file of await listFiles(join(dir, 'chats', `dt=${day}`))) {
          const when = new Date(now - 100 * 86_400_000);
          await utimes(join(dir, 'chats', `dt=${day}`, file), when, when);
        }
      }
      const leftover = join(dir, 'chats', `dt=${DAYS.at(-1)}`, 'page-00001.json.gz.999999-abcdef.partial');
      const { copyFile } = await import('node:fs/promises');
      const [lastDayFile] = await listFiles(join(dir, 'chats', `dt=${DAYS.at(-1)}`));
      await copyFile(join(dir, 'chats', `dt=${DAYS.at(-1)}`, lastDayFile!), leftover);
      return { dir, leftover };
    };
    let { dir, leftover } = await pruneableLake();
    // Polled while prune removes files and folders: a folder gone mid-listing is simply listed again.
    const chatFiles = async (): Promise<number> => {
      try {
        return (await listFiles(join(dir, 'chats'))).filter((f) => f.endsWith('.json.gz')).length;
      } catch {
        return chatFiles();
      }
    };
    const random = mulberry32(11);
    let killedMidway = 0;
    // Prune deletes a day's files in a few milliseconds: the kill comes soon after its first delete.
    // A run that finished before any kill landed left nothing to prune: it does not count, and the
    // kills start over on a fresh copy of the lake (until one was killed midway).
    for (let kill = 0; kill < KILLS || (killedMidway === 0 && kill < 4 * KILLS); kill += 1) {
      const before = await chatFiles();
      const finished = await killMidway(
        'bin/prune.ts',
        ['--out', dir, '--older-than-days', '30'],
        async () => (await chatFiles()) < before,
        Math.floor(random() * 5),
      );
      if (!finished) killedMidway += 1;
      else if (killedMidway === 0) ({ dir, leftover } = await pruneableLake());
    }
    expect(killedMidway).toBeGreaterThan(0);
    const last = start('bin/prune.ts', ['--out', dir, '--older-than-days', '30']);
    expect(await last.done, last.output()).toBe(0);

    const { chats, workFiles } = await lakeChats(dir);
    const kept = DAYS.slice(24).flatMap((day) => sim.chats(day));
    expect(duplicatesOf(chats.map((chat) => String(chat['id'])))).toEqual([]);
    expect(chats.map((chat) => String(chat['id'])).sort()).toEqual(kept.map((chat) => String(chat['id'])).sort());
    expect(workFiles).toEqual([]);
    for (const day of old) expect(existsSync(join(dir, 'chats', `dt=${day}`)), day).toBe(false);
    await expect(stat(leftover)).rejects.toThrow(/ENOENT/);
  });
});
