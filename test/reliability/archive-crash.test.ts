/**
 * Issue 28, item 6 (archive): `bin/archive.ts` killed with SIGKILL at random moments, several
 * times, then run once more to the end: every chat of the simulator is in the lake exactly once,
 * in its day's partition, and no leftover of the killed runs (`*.partial`) remains.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { mulberry32 } from '#simulator/prng.ts';
import { spawnCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

const FROM = '2026-02-01';
const DAYS = Array.from({ length: 20 }, (_, i) => addDays(FROM, i));
const KILLS = 6;
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 80, seed: 53 });
}, 60_000);
afterAll(() => sim.close());

function archive(out: string) {
  const args = ['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--api-url', sim.url, '--out', out, '--concurrency', '2'];
  return spawnCli('bin/archive.ts', args, { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat });
}

async function chatFiles(out: string): Promise<number> {
  const dir = join(out, 'chats');
  try {
    return existsSync(dir) ? (await listFiles(dir)).length : 0;
  } catch {
    return chatFiles(out); // a file renamed or deleted mid-listing: list again
  }
}

describe('SIGKILL during archive (issue 28, item 6)', { timeout: 240_000 }, () => {
  it('archive killed several times at random moments, then run once more: every chat is in the lake once', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'archive-crash-')), 'lake');
    const random = mulberry32(5);
    let killedMidway = 0;
    let lakeChangedBeforeAKill = 0;
    for (let kill = 0; kill < KILLS; kill += 1) {
      const run = archive(out);
      let finished = false;
      void run.done.then(() => (finished = true));
      const before = await chatFiles(out);
      // Kill between 0 and 0.3 s after the run first changes the lake (or at once if it ends first).
      while (!finished && (await chatFiles(out)) === before) await new Promise((resolve) => setTimeout(resolve, 2));
      if (!finished) lakeChangedBeforeAKill += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 300)));
      if (!finished) killedMidway += 1;
      run.child.kill('SIGKILL');
      await run.done;
    }
    expect(killedMidway, 'the kills land while a run is writing').toBeGreaterThan(2);
    expect(lakeChangedBeforeAKill).toBeGreaterThan(0);

    const last = archive(out);
    expect(await last.done, last.output()).toBe(0);
    const checked = await expectLakeMatchesSimulator(out, sim, DAYS);
    expect(checked).toBe(DAYS.reduce((sum, day) => sum + sim.chats(day).length, 0));
  });
});
