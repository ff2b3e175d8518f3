import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { dayTask } from '#shared/archive-task.ts';
import { type FaultOptions, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { chatIdsByDay, duplicatesOf, listFiles } from '#test/support/lake-reader.ts';
import { type DeliveryFaults, deliverUntilEmpty } from '#test/support/queue-harness.ts';

const DAYS = ['2026-07-01', '2026-07-02', '2026-07-03'];
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(faults: FaultOptions = {}) {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 70, faults });
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
  return { sim, out, client, sink: new LocalFileSink(out) };
}

async function expectExactlyOnce(out: string, simulator: RunningSimulator) {
  const lake = await chatIdsByDay(out);
  for (const day of DAYS) {
    const ids = lake.get(day) ?? [];
    expect(duplicatesOf(ids), `duplicates on ${day}`).toEqual([]);
    expect([...ids].sort(), `chats of ${day}`).toEqual(
      simulator
        .chats(day)
        .map((chat) => chat.id)
        .sort(),
    );
  }
  // Each day settled into one file: no page of any pass left beside it, no partial file.
  const files = await listFiles(join(out, 'chats'));
  for (const day of DAYS) {
    expect(
      files.filter((file) => file.startsWith(`dt=${day}/`)),
      `one settled file on ${day}`,
    ).toEqual([expect.stringMatching(/^dt=\d{4}-\d{2}-\d{2}\/settled-[0-9a-f]{16}-part-00001\.json\.gz$/)]);
  }
}

const scenarios: Array<[string, DeliveryFaults]> = [
  ['every task delivered twice, later', { seed: 1, duplicateRate: 1 }],
  ['tasks delivered twice at the same moment', { seed: 2, concurrentDuplicateRate: 1 }],
  ['out-of-order delivery', { seed: 3, shuffle: true }],
  ['workers dying after writing, before acknowledging', { seed: 4, crashBeforeAckRate: 0.5 }],
  [
    'everything at once',
    { seed: 5, shuffle: true, duplicateRate: 0.3, concurrentDuplicateRate: 0.3, crashBeforeAckRate: 0.3 },
  ],
];

describe('delivery faults on the queued (Lambda) path', () => {
  it.each(scenarios)('%s: every chat once, no stale pages, no partial files', async (_name, faults) => {
    const { sim, out, client, sink } = await setup();
    const { deliveries } = await deliverUntilEmpty(
      DAYS.map((day) => dayTask('run-1', day, 1, {}, 'UTC')),
      { client, sink, maxAttempts: 5 },
      faults,
    );
    expect(deliveries).toBeGreaterThanOrEqual(3 + 6); // 3 day tasks (each writes page 1) + pages 2 and 3 of each day
    await expectExactlyOnce(out, sim);
  });

  it.each(scenarios)('%s, with drift in the middle: still every chat once', async (_name, faults) => {
    const { sim, out, client, sink } = await setup({
      drift: [
        { day: DAYS[0]!, afterRequests: 2, addChats: 3, position: 'random' },
        { day: DAYS[1]!, afterRequests: 1, addChats: 30, position: 'newest' },
      ],
    });
    const { results } = await deliverUntilEmpty(
      DAYS.map((day) => dayTask('run-1', day, 1, {}, 'UTC')),
      { client, sink, maxAttempts: 5 },
      faults,
    );
    expect(results.some((result) => result.kind === 'drift')).toBe(true);
    await expectExactlyOnce(out, sim);
  });

  it('a worker that dies before writing loses nothing: the redelivered task writes the page', async () => {
    const { sim, out, client, sink } = await setup();
    let failures = 0;
    const flakySink: LakeSink = {
      location: sink.location,
      put: async (key, body, type) => {
        if (key.includes('page-00002') && failures < 2) {
          failures += 1;
          throw new Error('worker died');
        }
        return sink.put(key, body, type);
      },
      putIfAbsent: (...args) => sink.putIfAbsent(...args),
      get: (key) => sink.get(key),
      list: (prefix) => sink.list(prefix),
      delete: (keys) => sink.delete(keys),
    };
    // The harness redelivers a failed message the way SQS does after the visibility timeout.
    const redeliver = async () => {
      for (;;) {
        try {
          return await deliverUntilEmpty(
            DAYS.map((day) => dayTask('run-1', day, 1, {}, 'UTC')),
            { client, sink: flakySink, maxAttempts: 5 },
            { seed: 9 },
          );
        } catch (error) {
          expect((error as Error).message).toBe('worker died');
        }
      }
    };
    await redeliver();
    expect(failures).toBe(2);
    await expectExactlyOnce(out, sim);
  });

  it('a day archived by two runs at once (nightly lookback over a backfill) ends exactly once', async () => {
    const { sim, out, client, sink } = await setup({
      drift: [{ day: DAYS[1]!, afterRequests: 3, addChats: 2, position: 'random' }],
    });
    const nightly = deliverUntilEmpty(
      DAYS.map((day) => dayTask('scheduled-1', day, 1, {}, 'UTC')),
      { client, sink, maxAttempts: 5 },
      { seed: 11, shuffle: true },
    );
    const backfill = deliverUntilEmpty(
      DAYS.map((day) => dayTask('manual-1', day, 1, {}, 'UTC')),
      { client, sink, maxAttempts: 5 },
      { seed: 12, shuffle: true, duplicateRate: 0.2 },
    );
    await Promise.all([nightly, backfill]);
    await expectExactlyOnce(out, sim);
  });
});
