/**
 * Issue 28, item 6 (queued path): the worker's task handler driven through an injected failure at
 * every write, conditional write (drift claims, markers), delete and send of a clean run, one at a
 * time; the failed message is redelivered as SQS does after the visibility timeout. Whatever call
 * fails, the lake ends with every chat of the simulator exactly once, each day settled.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import type { TaskSender } from '#pipeline/queued-task-handler.ts';
import { dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { expectLakeMatchesSimulator } from '#test/support/local-archive.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';

const DAYS = ['2026-07-01', '2026-07-02'];
type Call = 'put' | 'putIfAbsent' | 'delete' | 'send';
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60 });
});
afterAll(() => sim.close());

/** Runs the days through the queue, failing the `at`-th call of kind `fail` once (none: a clean run). */
async function archiveWithFailure(fail?: { call: Call; at: number }, simulator = sim) {
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const inner = new LocalFileSink(out);
  const calls: Record<Call, number> = { put: 0, putIfAbsent: 0, delete: 0, send: 0 };
  let failed = false;
  const maybeFail = (call: Call) => {
    calls[call] += 1;
    if (fail && !failed && fail.call === call && calls[call] === fail.at) {
      failed = true;
      throw new Error(`injected ${call} failure`);
    }
  };
  const sink: LakeSink = {
    location: inner.location,
    put: async (key, body, type) => {
      maybeFail('put');
      return inner.put(key, body, type);
    },
    putIfAbsent: async (key, body, type) => {
      maybeFail('putIfAbsent');
      return inner.putIfAbsent(key, body, type);
    },
    get: (key) => inner.get(key),
    list: (prefix) => inner.list(prefix),
    delete: async (keys) => {
      maybeFail('delete');
      return inner.delete(keys);
    },
  };
  const sender: TaskSender = { send: async () => maybeFail('send') };
  const client = createLivechatClient({
    apiUrl: simulator.url,
    credentials: simulator.credentials,
    baseRetryDelayMs: 5,
  });
  const { results } = await deliverUntilEmpty(
    DAYS.map((day) => dayTask('run-1', day, 1, {}, 'UTC')),
    { client, sink, sender, maxAttempts: 5 },
    { seed: 1, redeliverFailed: true },
  );
  return { out, calls, failed, drifted: results.some((result) => result.kind === 'drift') };
}

describe('injected failures on the queued path (issue 28, item 6)', { timeout: 120_000 }, () => {
  it('a failure at any write, conditional write, delete or send, then redelivery: every chat once', async () => {
    const clean = await archiveWithFailure();
    await expectLakeMatchesSimulator(clean.out, sim, DAYS);
    // Every kind of call the path makes is exercised (and so can fail below).
    for (const call of ['put', 'putIfAbsent', 'delete', 'send'] as const)
      expect(clean.calls[call], call).toBeGreaterThan(0);

    let injected = 0;
    for (const call of ['put', 'putIfAbsent', 'delete', 'send'] as const) {
      for (let at = 1; at <= clean.calls[call]; at += 1) {
        const run = await archiveWithFailure({ call, at });
        expect(run.failed, `${call} #${at} was reached`).toBe(true);
        await expectLakeMatchesSimulator(run.out, sim, DAYS);
        injected += 1;
      }
    }
    expect(injected).toBe(Object.values(clean.calls).reduce((sum, n) => sum + n, 0));
  });
});

describe('injected failures while a day drifts (issue 28, items 4 and 6)', { timeout: 180_000 }, () => {
  // A chat added while day 1 is read: a unit sees the drift, claims the re-plan and sends it.
  const drifting = () =>
    startSimulator({
      from: DAYS[0]!,
      to: DAYS.at(-1)!,
      chatsPerDay: () => 60,
      faults: { drift: [{ day: DAYS[0]!, afterRequests: 2, addChats: 2, position: 'newest' }] },
    });

  it('a failure at any call around the drift claim and its send, then redelivery: the day is re-archived, every chat once', async () => {
    const cleanSim = await drifting();
    const clean = await archiveWithFailure(undefined, cleanSim);
    await cleanSim.close();
    expect(clean.drifted).toBe(true);
    for (const call of ['put', 'putIfAbsent', 'send'] as const) {
      for (let at = 1; at <= clean.calls[call]; at += 1) {
        const simulator = await drifting();
        try {
          const run = await archiveWithFailure({ call, at }, simulator);
          expect(run.failed, `${call} #${at} was reached`).toBe(true);
          await expectLakeMatchesSimulator(run.out, simulator, DAYS);
        } finally {
          await simulator.close();
        }
      }
    }
  });
});
