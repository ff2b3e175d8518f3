import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { findSchemaViolations } from '#lake/chat-columns.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

const DAY = '2026-06-10'; // 150 chats: one slice of two pages; its first cursor expires once
const DRIFT = '2026-06-09'; // 150 chats: one slice of two pages; 3 chats arrive after its first page
const QUIET = '2026-06-08'; // 40 chats
const BUSY = '2026-06-07'; // 250 chats: above the threshold, so 24 hour slices
const DAYS = [BUSY, QUIET, DRIFT, DAY];
const aws = lambdaAwsMocks();
const { bucket, secretsMock, queuedBodies, recordsOf: recordsInBucket } = aws;
let sim: RunningV36Simulator;
let worker: typeof import('#handlers/worker.ts')['handler'];
let planner: typeof import('#handlers/planner.ts')['handler'];

beforeAll(async () => {
  sim = await startV36Simulator({
    from: BUSY,
    to: DAY,
    chatsPerDay: (day) => ({ [BUSY]: 250, [QUIET]: 40 })[day] ?? 150,
    cursorExpiry: [{ day: DAY, page: 2 }],
    faults: { drift: [{ day: DRIFT, afterRequests: 1, addChats: 3, position: 'random' }] },
  });
  stubFunctionEnv(sim.url, { MAX_ATTEMPTS: '3', SOURCE: 'v3.6', BUSY_DAY_THRESHOLD: '200' });
  ({ handler: worker } = await import('#handlers/worker.ts'));
  ({ handler: planner } = await import('#handlers/planner.ts'));
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  aws.reset({ accountId: sim.accountId, token: sim.token });
});

const dayTaskBody = (day: string) =>
  JSON.stringify({ v: 1, kind: 'day', runId: 'run-1', day, attempt: 1, filters: {} });
const sliceTaskBody = (day: string, found = 150) =>
  JSON.stringify({ v: 1, kind: 'slice', runId: 'run-1', day, attempt: 1, filters: {}, slice: 'day', slices: 1, found });

describe('worker handler with SOURCE=v3.6', () => {
  it('plans a quiet day as one slice and a busy day (found_chats above the threshold) as 24 hour slices', async () => {
    const result = await worker(sqsEvent([dayTaskBody(QUIET), dayTaskBody(BUSY)]), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    const tasks = queuedBodies().map((body) => JSON.parse(body) as Record<string, unknown>);
    const quiet = tasks.filter((task) => task['day'] === QUIET);
    const busy = tasks.filter((task) => task['day'] === BUSY);
    expect(quiet).toEqual([
      {
        v: 1,
        kind: 'slice',
        runId: 'run-1',
        day: QUIET,
        attempt: 1,
        filters: {},
        timeZone: 'UTC',
        plan: expect.stringMatching(/^[0-9a-f]{8}$/),
        slice: 'day',
        slices: 1,
        found: 40,
      },
    ]);
    expect(busy.map((task) => task['slice'])).toEqual(
      Array.from({ length: 24 }, (_, h) => `h${String(h).padStart(2, '0')}`),
    );
  });

  it('writes a slice as numbered parts under deterministic keys, restarting after an expired cursor', async () => {
    const first = await worker(sqsEvent([sliceTaskBody(DAY)]), lambdaContext());
    expect(first.batchItemFailures).toEqual([]);
    expect(sim.stats().faultsInjected['cursorExpired']).toBe(1);
    const keys = [...bucket.keys()].filter((key) => key.startsWith('chats/')).sort();
    expect(keys).toEqual([
      `chats/dt=${DAY}/run=run-1.attempt-1.0.v36-day-part-00001.json.gz`,
      `chats/dt=${DAY}/run=run-1.attempt-1.0.v36-day-part-00002.json.gz`,
    ]);
    const records = await recordsInBucket(DAY);
    expect(records.map((record) => record['id']).sort()).toEqual(
      sim
        .chats(DAY)
        .map((chat) => chat.id)
        .sort(),
    );
    expect(new Set(records.map((record) => record['_page']))).toEqual(new Set([1, 2]));
    for (const record of records) expect(findSchemaViolations(record)).toEqual([]);

    // A redelivery overwrites the same keys: still each chat once.
    await worker(sqsEvent([sliceTaskBody(DAY)]), lambdaContext());
    expect(duplicatesOf((await recordsInBucket(DAY)).map((record) => String(record['id'])))).toEqual([]);
  });

  it('queues one re-archive of the day when found_chats changes within a slice, and writes nothing for it', async () => {
    const result = await worker(sqsEvent([sliceTaskBody(DRIFT)]), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(sim.stats().faultsInjected['drift']).toBe(1);
    const queued = queuedBodies().map((body) => JSON.parse(body) as Record<string, unknown>);
    expect(queued).toEqual([
      { v: 1, kind: 'day', runId: 'run-1', day: DRIFT, attempt: 2, filters: {}, timeZone: 'UTC' },
    ]);
    expect([...bucket.keys()].filter((key) => key.startsWith('chats/'))).toEqual([]);
    expect([...bucket.keys()]).toContain(`manifests/drift-claims/dt=${DRIFT}/run=run-1.attempt-1.0.json`);
  });

  it('runs planner → queue → worker end to end and stores every chat of every day once', async () => {
    const planned = await planner({ from: BUSY, to: DAY }, lambdaContext('backfill-1'));
    expect(planned).toMatchObject({ days: 4 });
    const pending = queuedBodies();
    while (pending.length > 0) {
      const batch = pending.splice(0, 5);
      const result = await worker(sqsEvent(batch), lambdaContext());
      expect(result.batchItemFailures).toEqual([]);
      pending.push(...queuedBodies());
    }
    for (const day of DAYS) {
      const ids = (await recordsInBucket(day)).map((record) => String(record['id']));
      expect(duplicatesOf(ids)).toEqual([]);
      expect(ids.sort()).toEqual(
        sim
          .chats(day)
          .map((chat) => chat.id)
          .sort(),
      );
    }
    // The busy day was archived by hour slices, then settled into one version per thread.
    const busyUnits = [...bucket.keys()].filter((key) => key.startsWith(`manifests/passes/dt=${BUSY}/`));
    expect(busyUnits).toHaveLength(24);
    expect([...bucket.keys()].filter((key) => key.startsWith(`chats/dt=${BUSY}/`))).toEqual([
      expect.stringMatching(/\/settled-[0-9a-f]{16}-part-00001\.json\.gz$/),
    ]);
  });

  it('fails the batch on a v2-shaped secret without echoing it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000);
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"login":"x","apiKey":"hunter2-key"}' });
      const error = await worker(sqsEvent([sliceTaskBody(DAY)]), lambdaContext()).catch((caught: unknown) => caught);
      const recordErrors = (error as { recordErrors: Error[] }).recordErrors;
      expect(recordErrors[0]!.message).toContain('v3.6 secret must be JSON');
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
      expect(bucket.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
