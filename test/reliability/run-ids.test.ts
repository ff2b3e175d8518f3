import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveCommand, EXIT } from '#cli/archive-command.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { runIdAt, uniqueRunId } from '#pipeline/run-planner.ts';
import { resumePoint } from '#pipeline/run-resume.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { capture } from '../support/cli-runner.ts';

const DAYS = ['2026-06-01', '2026-06-02'];
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** `npm run archive` in process, on a clock that may stand still (two runs in the same second). */
async function archive(lake: string, now: () => Date) {
  const stdout = capture();
  const stderr = capture();
  const code = await archiveCommand(
    ['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--out', lake, '--api-url', sim!.url, '--concurrency', '2'],
    {
      env: { LIVECHAT_LOGIN: sim!.login, LIVECHAT_PAT: sim!.pat },
      stdout: stdout.stream,
      stderr: stderr.stream,
      clientOverrides: { baseRetryDelayMs: 5, maxRetryDelayMs: 200, timeoutMs: 2_000 },
      redeliveryDelayMs: 10,
      now,
    },
  );
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function runManifests(lake: string): Promise<RunManifest[]> {
  const dir = join(lake, 'manifests', 'runs');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => JSON.parse(await readFile(join(dir, file), 'utf8')) as RunManifest));
}

async function dayPlanFiles(lake: string, day: string): Promise<string[]> {
  return (await readdir(join(lake, 'manifests', 'day-plans', `dt=${day}`))).filter((file) => file.endsWith('.json'));
}

describe('run ids of local runs', () => {
  it('are unique per run to the millisecond and beyond, readable, and sort by start time with the old second-only ids', () => {
    const at = new Date('2026-12-06T02:32:51.123Z');
    const id = uniqueRunId('local', at);
    expect(id).toMatch(/^local-20261206T023251\.123Z-[0-9a-f]{6}$/);
    expect(uniqueRunId('local', at, 'abc123')).toBe('local-20261206T023251.123Z-abc123');
    // The same instant (a clock that stands still, two runs in one millisecond): still another id.
    expect(new Set(Array.from({ length: 50 }, () => uniqueRunId('local', at))).size).toBe(50);
    // Time order is key order: among new ids, and between a lake's old second-only ids and new ones
    // of other seconds (within one second the old id sorts last: the version cannot change in it).
    const ids = [
      runIdAt('local', new Date('2026-12-06T02:32:50Z')), // local-20261206T023250Z, as earlier versions named runs
      uniqueRunId('local', new Date('2026-12-06T02:32:51.001Z'), 'ffffff'),
      uniqueRunId('local', new Date('2026-12-06T02:32:51.120Z'), '000000'),
      runIdAt('local', new Date('2026-12-06T02:32:52Z')),
      uniqueRunId('local', new Date('2026-12-06T02:32:53.500Z'), '000000'),
      uniqueRunId('local', new Date('2026-12-06T02:33:00.000Z'), '000000'),
    ];
    expect(ids[0]).toBe('local-20261206T023250Z');
    expect([...ids].map((runId) => `${runId}.json`).sort()).toEqual(ids.map((runId) => `${runId}.json`));
    // Run ids are file-name parts: nothing a key or the backfill's runId check would refuse.
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
  });

  it('two runs started in the same second keep a manifest and day plans each; a rerun has nothing to resume', async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 30, seed: 11 });
    const lake = join(await mkdtemp(join(tmpdir(), 'run-ids-')), 'lake');
    const sameSecond = () => new Date('2026-06-10T01:00:00.000Z'); // every run starts at the same instant

    const first = await archive(lake, sameSecond);
    const second = await archive(lake, sameSecond);
    expect(first.code, first.stderr).toBe(EXIT.ok);
    expect(second.code, second.stderr).toBe(EXIT.ok);

    const manifests = await runManifests(lake);
    expect(manifests).toHaveLength(2);
    const runIds = manifests.map((manifest) => manifest.runId);
    expect(new Set(runIds).size).toBe(2);
    for (const runId of runIds) expect(runId).toMatch(/^local-20260610T010000\.000Z-[0-9a-f]{6}$/);
    for (const manifest of manifests) {
      expect(manifest.complete).toBe(true);
      expect(manifest.days.map((day) => day.day)).toEqual(DAYS);
    }
    // Each summary names its own run, and each run's plan of each day is kept.
    expect(new Set([first.stdout, second.stdout].map((out) => /^run (\S+):/m.exec(out)?.[1]))).toEqual(new Set(runIds));
    for (const day of DAYS) {
      const plans = await dayPlanFiles(lake, day);
      expect(plans.sort()).toEqual(runIds.map((runId) => `run=${runId}.plan-1.json`).sort());
    }
    // Neither run was interrupted: a rerun has nothing to resume.
    expect(await resumePoint(new LocalFileSink(lake), DAYS)).toBeUndefined();
  }, 60_000);

  it('two runs started at once into one lake (two terminals) each keep their manifest', async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 30, seed: 12 });
    const lake = join(await mkdtemp(join(tmpdir(), 'run-ids-')), 'lake');
    const clock = () => new Date();
    const results = await Promise.all([archive(lake, clock), archive(lake, clock)]);
    for (const result of results) expect(result.code, result.stderr).toBe(EXIT.ok);
    const manifests = await runManifests(lake);
    expect(manifests.map((manifest) => manifest.runId).sort()).toEqual(
      results.map((result) => /^run (\S+):/m.exec(result.stdout)?.[1]).sort(),
    );
    expect(new Set(manifests.map((manifest) => manifest.runId)).size).toBe(2);
  }, 60_000);
});
