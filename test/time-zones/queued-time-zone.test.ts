import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import { planRun } from '#pipeline/run-planner.ts';
import { type ArchiveTask, dayTask, decodeTask } from '#shared/archive-task.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';
import { expectLakeCutIn } from './zoned-lake.ts';

const settings = {
  settleHours: 2,
  lookbackDays: 1,
  maxRangeDays: 100,
  defaultFilters: {},
  fallbackRunId: 'manual-1',
};

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('the zone travels in every task (AWS path)', () => {
  it('the planner puts the configured zone, canonically spelled, into every day task', () => {
    const plan = planRun({ from: '2026-03-28', to: '2026-03-30' }, { ...settings, timeZone: 'europe/warsaw' });
    expect(plan.dayTasks.map((task) => task.timeZone)).toEqual(['Europe/Warsaw', 'Europe/Warsaw', 'Europe/Warsaw']);
    // 00:30 UTC on 30 March is 02:30 in Warsaw: past the settle lag there, not yet in UTC.
    const nightly = planRun({ scheduledTime: '2026-03-30T00:30:00Z' }, { ...settings, timeZone: 'Europe/Warsaw' });
    expect(nightly.days).toEqual(['2026-03-28', '2026-03-29']);
  });

  it('reads a version-1 message without a zone as UTC, and refuses an unknown zone in one line', () => {
    const old = decodeTask(JSON.stringify({ v: 1, kind: 'day', runId: 'r', day: '2026-03-29', attempt: 1 }));
    expect(old.timeZone).toBe('UTC');
    expect(() =>
      decodeTask(JSON.stringify({ v: 1, kind: 'day', runId: 'r', day: '2026-03-29', attempt: 1, timeZone: 'Mars/X' })),
    ).toThrowError('archive task is invalid: timeZone: not an IANA time zone');
  });

  it('queued day and page tasks cut every day in the task zone and record it in the day plans', async () => {
    sim = await startSimulator({ seed: 9, from: '2026-10-23', to: '2026-10-27', chatsPerDay: 60, timeZone: 'UTC' });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-q-'));
    const sink = new LocalFileSink(out);
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const { dayTasks } = planRun({ from: '2026-10-24', to: '2026-10-26' }, { ...settings, timeZone: 'Europe/Warsaw' });
    await deliverUntilEmpty(dayTasks, { client, sink, maxAttempts: 3 }, { seed: 3, shuffle: true, duplicateRate: 0.3 });

    await expectLakeCutIn(out, 'Europe/Warsaw', '2026-10-24', '2026-10-26', (day) => sim!.chats(day, 'Europe/Warsaw'));
    const plans = (await listFiles(join(out, 'manifests', 'day-plans'))).filter((file) => /plan-\d+\.json$/.test(file));
    expect(plans).toHaveLength(3);
    for (const plan of plans) {
      const record = JSON.parse(await readFile(join(out, 'manifests', 'day-plans', plan), 'utf8')) as {
        timeZone: string;
      };
      expect(record.timeZone).toBe('Europe/Warsaw');
    }
  });

  it('a day task in another zone than the lake is refused with one line, and writes nothing', async () => {
    sim = await startSimulator({ seed: 9, from: '2026-06-01', to: '2026-06-03', chatsPerDay: 10 });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-q-'));
    const sink = new LocalFileSink(out);
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const sent: ArchiveTask[] = [];
    const deps = {
      source: v2Source(client),
      sink,
      maxAttempts: 3,
      sender: { send: async (tasks: readonly ArchiveTask[]) => sent.push(...tasks) },
    };
    await handleQueuedTask(dayTask('run-1', '2026-06-02', 1, {}, 'Asia/Tokyo'), deps);
    const before = await listFiles(out);
    const requests = sim.stats().requests;

    const refused = handleQueuedTask(dayTask('run-2', '2026-06-02', 1, {}, 'UTC'), deps);
    await expect(refused).rejects.toThrowError(InvalidInputError);
    await expect(refused).rejects.toThrowError(
      /has its days cut in time zone Asia\/Tokyo \(manifests\/time-zone\/Asia\/Tokyo\.json\), this run would cut them in UTC/,
    );
    expect(await listFiles(out)).toEqual(before);
    expect(sim.stats().requests).toBe(requests);
  });

  it('a day task that never reaches LiveChat (refused credentials) records no zone: the lake stays as it was', async () => {
    sim = await startSimulator({ seed: 9, from: '2026-06-01', to: '2026-06-03', chatsPerDay: 10 });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-q-'));
    const sink = new LocalFileSink(out);
    const wrong = createLivechatClient({
      apiUrl: sim.url,
      credentials: { ...sim.credentials, pat: 'wrong-pat' },
      baseRetryDelayMs: 5,
    });
    const deps = { source: v2Source(wrong), sink, maxAttempts: 3, sender: { send: async () => {} } };
    await expect(handleQueuedTask(dayTask('run-1', '2026-06-02', 1, {}, 'Asia/Tokyo'), deps)).rejects.toThrow(
      /authentication failed/,
    );
    expect(await listFiles(out)).toEqual([]);

    const right = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    await handleQueuedTask(dayTask('run-2', '2026-06-02', 1, {}, 'UTC'), { ...deps, source: v2Source(right) });
    expect(await listFiles(join(out, 'manifests', 'time-zone'))).toEqual(['UTC.json']);
  });
});
