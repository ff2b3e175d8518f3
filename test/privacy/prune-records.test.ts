/**
 * `npm run prune` deletes the bookkeeping of passes and merges long finished (unit-done and
 * settled markers, v3.6 slice reads, day merge records), never one a pass still running reads.
 */
import { mkdtemp, readdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRUNE_EXIT } from '#cli/prune-command.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { lakeWithAges, runPrune } from '#test/support/aged-lake.ts';
import { spawnCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

const NOW = new Date('2026-11-30T12:00:00Z');

const lakeWith = (files: Record<string, number>) => lakeWithAges(files, NOW);

const RECORD_PREFIXES = ['passes/', 'settled/', 'slice-reads/', 'day-merges/', 'drift-claims/'].map(
  (name) => `manifests/${name}`,
);
// Records only: a SIGKILLed writer may leave its lock (`<record>.lock`) or temporary file (`*.partial`).
const records = async (dir: string) =>
  (await listFiles(dir)).filter(
    (key) => key.endsWith('.json') && RECORD_PREFIXES.some((prefix) => key.startsWith(prefix)),
  );

describe('npm run prune: records of passes and merges', () => {
  // An old pass (its unit-done markers, settled marker and slice reads), a pass still reading a
  // slice (old first part, fresh second part), merge records old and recent, other manifests.
  const oldPass = 'run=scheduled-20261020T023000Z.attempt-1.0a1b2c3d.';
  const liveRun = 'run=local.2026.attempt-1.e5f6a7b8.'; // a run id may hold dots
  const lake = {
    [`manifests/passes/dt=2026-10-19/${oldPass}page-1.json`]: 40,
    [`manifests/passes/dt=2026-10-19/${oldPass}page-2.json`]: 40,
    [`manifests/settled/dt=2026-10-19/${oldPass}json`]: 40,
    [`manifests/slice-reads/dt=2026-10-19/${oldPass}v36-day-part-00001.json`]: 40,
    'manifests/day-merges/dt=2026-10-19.json': 35,
    [`manifests/slice-reads/dt=2026-10-20/${liveRun}v36-h00-part-00001.json`]: 40,
    [`manifests/slice-reads/dt=2026-10-20/${liveRun}v36-h00-part-00002.json`]: 0,
    [`manifests/passes/dt=2026-10-20/${liveRun}slice-h01.json`]: 40,
    'manifests/day-merges/dt=2026-10-20.json': 29,
    'manifests/runs/scheduled-20261020T023000Z.json': 40,
    'manifests/day-plans/dt=2026-10-19/run=scheduled-20261020T023000Z.plan-1.json': 40,
    'manifests/erasures/salt.json': 40,
    'chats/dt=2026-10-19/settled-ab12-part-00001.json.gz': 10,
  };
  const kept = [
    'chats/dt=2026-10-19/settled-ab12-part-00001.json.gz',
    'manifests/day-merges/dt=2026-10-20.json',
    'manifests/day-plans/dt=2026-10-19/run=scheduled-20261020T023000Z.plan-1.json',
    'manifests/erasures/salt.json',
    `manifests/passes/dt=2026-10-20/${liveRun}slice-h01.json`,
    'manifests/runs/scheduled-20261020T023000Z.json',
    `manifests/slice-reads/dt=2026-10-20/${liveRun}v36-h00-part-00001.json`,
    `manifests/slice-reads/dt=2026-10-20/${liveRun}v36-h00-part-00002.json`,
  ];

  it('deletes the records of a pass whose newest is older than N days, and merge records as old; the rest stays', async () => {
    const dir = await lakeWith(lake);
    const result = await runPrune(['--out', dir, '--older-than-days', '30'], NOW);
    expect(result.code).toBe(PRUNE_EXIT.ok);
    expect(result.stdout).toBe(
      'deleted 0 chat files (0 bytes) written more than 30 days ago\n' +
        'deleted 5 record(s) of passes and day merges last written more than 30 days ago\n',
    );
    expect(await listFiles(dir)).toEqual(kept);
  });

  it('keeps every record of a pass one of whose records is recent (a slice still being read)', async () => {
    const dir = await lakeWith(lake);
    await runPrune(['--out', dir, '--older-than-days', '30'], NOW);
    // The live pass's unit-done marker and first part are 40 days old: its second part keeps them.
    expect((await records(dir)).filter((key) => key.includes(liveRun))).toHaveLength(3);
  });

  it('drift claims go with their pass; claims where older lakes kept them go by their own age; a killed writer’s leftover goes', async () => {
    const claims = {
      // The old pass's claim goes with its other records; the live pass's (its newest record is recent) stays.
      [`manifests/drift-claims/dt=2026-10-19/${oldPass}json`]: 40,
      [`manifests/drift-claims/dt=2026-10-20/${liveRun}json`]: 40,
      // The layout before claims moved: under the run's folder, beside its run manifest.
      'manifests/runs/scheduled-20261020T023000Z/2026-10-19/replan-2.after-0a1b2c3d.json': 40,
      'manifests/runs/local.2026/2026-10-20/replan-2.after-e5f6a7b8.json': 3,
      [`manifests/passes/dt=2026-10-19/${oldPass}page-3.json.999999-abcdef.partial`]: 40,
    };
    const dir = await lakeWith({ ...lake, ...claims });
    const result = await runPrune(['--out', dir, '--older-than-days', '30'], NOW);
    expect(result.code).toBe(PRUNE_EXIT.ok);
    expect(result.stdout).toContain(
      'deleted 7 record(s) of passes and day merges last written more than 30 days ago\n',
    );
    expect(result.stdout).toContain('deleted 1 leftover file(s) of interrupted writes');
    expect(await listFiles(dir)).toEqual(
      [
        ...kept,
        `manifests/drift-claims/dt=2026-10-20/${liveRun}json`,
        'manifests/runs/local.2026/2026-10-20/replan-2.after-e5f6a7b8.json',
      ].sort(),
    );
  });

  it('a dry run counts the records and deletes none', async () => {
    const dir = await lakeWith(lake);
    const result = await runPrune(['--out', dir, '--older-than-days', '30', '--dry-run'], NOW);
    expect(result.stdout).toContain(
      'dry run: would delete 5 record(s) of passes and day merges last written more than 30 days ago\n',
    );
    expect(await listFiles(dir)).toHaveLength(Object.keys(lake).length);
  });
});

describe('records pruned between a killed v3.6 run and its rerun', { timeout: 180_000 }, () => {
  const DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'];
  let sim: RunningV36Simulator;

  beforeAll(async () => {
    sim = await startV36Simulator({ from: DAYS[0]!, to: DAYS.at(-1)!, seed: 11, chatsPerDay: 60, latencyMs: 120 });
  }, 60_000);
  afterAll(() => sim.close());

  function archive(out: string) {
    const args = ['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--api-url', sim.url, '--out', out, '--source', 'v3.6'];
    return spawnCli('bin/archive.ts', [...args, '--concurrency', '1'], {
      LIVECHAT_ACCOUNT_ID: sim.accountId,
      LIVECHAT_PAT: sim.token,
    });
  }

  it('the killed run’s records go, the rerun archives every chat once, and its own records stay', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'prune-records-')), 'lake');
    const killed = archive(out);
    let finished = false;
    void killed.done.then(() => (finished = true));
    // SIGKILL once a day has settled (a settled marker, a merge record) and another is being read.
    const settledAndReading = async () => {
      const keys = await records(out).catch(() => []);
      return (
        keys.some((key) => key.startsWith('manifests/day-merges/')) && keys.some((key) => key.includes('slice-reads/'))
      );
    };
    while (!finished && !(await settledAndReading())) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(finished, 'the kill lands while the run is writing').toBe(false);
    killed.child.kill('SIGKILL');
    await killed.done;
    const left = await records(out);
    expect(left.filter((key) => key.startsWith('manifests/day-merges/')).length, killed.output()).toBeGreaterThan(0);

    // A month later (for the records): prune deletes them, not the chat files (written just now).
    const monthAgo = new Date(Date.now() - 40 * 86_400_000);
    for (const key of await listFiles(out)) {
      if (key.startsWith('manifests/')) await utimes(join(out, key), monthAgo, monthAgo);
    }
    const pruned = await runPrune(['--out', out, '--older-than-days', '30']);
    expect(pruned.stdout).toContain(`deleted ${left.length} record(s) of passes and day merges`);
    expect(await records(out)).toEqual([]);
    // Nor is any lock (a symbolic link) or partial record of the killed writer left beside them.
    const leftovers = (await readdir(join(out, 'manifests'), { recursive: true, withFileTypes: true }))
      .filter((entry) => !entry.isDirectory())
      .map((entry) => join(entry.parentPath, entry.name).slice(out.length + 1))
      .filter((key) => RECORD_PREFIXES.some((prefix) => key.startsWith(prefix)));
    expect(leftovers).toEqual([]);
    expect((await listFiles(out)).some((key) => key.startsWith('manifests/day-plans/'))).toBe(true);

    const rerun = archive(out);
    expect(await rerun.done, rerun.output()).toBe(0);
    const checked = await expectLakeMatchesSimulator(out, sim, DAYS);
    expect(checked).toBe(DAYS.reduce((sum, day) => sum + sim.chats(day).length, 0));

    // The rerun's records are recent: pruning again keeps them.
    const after = await records(out);
    expect(after.length).toBeGreaterThan(0);
    const again = await runPrune(['--out', out, '--older-than-days', '30']);
    expect(again.stdout).not.toContain('record(s)');
    expect(await records(out)).toEqual(after);
  });
});
