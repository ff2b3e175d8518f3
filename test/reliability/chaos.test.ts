import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { dayTask } from '#shared/archive-task.ts';
import { daysInRange } from '#shared/day-range.ts';
import { type FaultOptions, mulberry32, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { archiveLocally, expectLakeMatchesSimulator } from '#test/support/local-archive.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';

/**
 * Seeded chaos: every API fault at random rates plus drift on random days, over ten days,
 * through the local run and through the queued (Lambda) path with a misbehaving queue.
 * Drift always lands while its day is being paged (after its first request at the latest),
 * so the simulator's final state is what the lake must hold.
 */
const DAYS = daysInRange('2026-01-05', '2026-01-14');
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function chaos(seed: number): FaultOptions {
  const random = mulberry32(seed * 7919);
  const rate = (max: number) => Math.round(random() * max * 1000) / 1000;
  const driftDays = DAYS.filter(() => random() < 0.4);
  return {
    rate429: rate(0.06),
    retryAfterSeconds: 0,
    rate5xx: rate(0.06),
    rateReset: rate(0.03),
    rateMalformed: rate(0.03),
    rateHtml: rate(0.03),
    rateEmptyPage: rate(0.03),
    drift: driftDays.map((day) => ({
      day,
      afterRequests: random() < 0.5 ? 0 : 1,
      addChats: 1 + Math.floor(random() * 30),
      position: random() < 0.5 ? 'newest' : 'random',
    })),
  };
}

async function start(seed: number) {
  sim = await startSimulator({
    seed,
    from: DAYS[0]!,
    to: DAYS.at(-1)!,
    chatsPerDay: (day) => 30 + ((Number(day.slice(-2)) * seed) % 70),
    faults: chaos(seed),
  });
  return sim;
}

describe('chaos, local run', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])('seed %i: every chat of every day exactly once', async (seed) => {
    const simulator = await start(seed);
    const { out, manifest } = await archiveLocally(simulator, DAYS, { concurrency: 1 + (seed % 8) });
    expect(manifest.complete).toBe(true);
    expect(Object.keys(simulator.stats().faultsInjected).length).toBeGreaterThan(0);
    expect(await expectLakeMatchesSimulator(out, simulator, DAYS)).toBe(simulator.allChats().length);
  });
});

describe('chaos, queued (Lambda) path', () => {
  it.each([13, 14, 15, 16, 17, 18, 19, 20])('seed %i: every chat of every day exactly once', async (seed) => {
    const simulator = await start(seed);
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const client = createLivechatClient({
      apiUrl: simulator.url,
      credentials: simulator.credentials,
      baseRetryDelayMs: 5,
    });
    await deliverUntilEmpty(
      DAYS.map((day) => dayTask(`run-${seed}`, day, 1, {}, 'UTC')),
      { client, sink: new LocalFileSink(out), maxAttempts: 8 },
      { seed, shuffle: true, duplicateRate: 0.2, concurrentDuplicateRate: 0.1, crashBeforeAckRate: 0.1 },
    );
    expect(await expectLakeMatchesSimulator(out, simulator, DAYS)).toBe(simulator.allChats().length);
  });
});
