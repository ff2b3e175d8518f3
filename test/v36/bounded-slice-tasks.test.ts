import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * A v3.6 slice whose cursor pages, read in one go, would outlast the worker's timeout: 2 000
 * chats in one slice are 20 list_archives pages, and each request takes 4 s of a simulated
 * clock (the fetch the worker's client uses moves `Date` on), 80 s in all against a 60 s
 * function. The worker reads it through bounded tasks: each reads at most 5 pages and none
 * after its hand-off deadline (the remaining time less REQUEST_BUDGET_MS + 5 s), then queues
 * the rest of the slice.
 */
const DAY = '2026-06-10';
const CHATS = 2_000;
const LATENCY_MS = 4_000;
const TIMEOUT_MS = 60_000;
const aws = lambdaAwsMocks();
let sim: RunningV36Simulator;
let worker: typeof import('#handlers/worker.ts')['handler'];

interface ApiCall {
  at: number;
  /** The first page of a read carries filters; the cursor's next pages only page_id. */
  pageId?: string;
  limit?: number;
}
let calls: ApiCall[] = [];
/** Messages of records that failed in `drain`. */
let failures: string[] = [];

beforeAll(async () => {
  sim = await startV36Simulator({ from: DAY, to: DAY, chatsPerDay: () => CHATS });
  stubFunctionEnv(sim.url, { SOURCE: 'v3.6', BUSY_DAY_THRESHOLD: '100000', REQUEST_BUDGET_MS: '45000' });
  ({ handler: worker } = await import('#handlers/worker.ts'));
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  aws.reset({ accountId: sim.accountId, token: sim.token });
  calls = [];
  failures = [];
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-06-20T03:00:00Z'));
  const realFetch = globalThis.fetch;
  vi.stubGlobal('fetch', async (input: Request | string | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    if (request.url.includes('list_archives')) {
      const body = JSON.parse(await request.clone().text()) as { page_id?: string; limit?: number };
      calls.push({ at: Date.now(), ...(body.page_id ? { pageId: body.page_id } : {}), limit: body.limit });
      vi.setSystemTime(Date.now() + LATENCY_MS);
    }
    return realFetch(request);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

/** A Lambda context whose remaining time runs down with the simulated clock. */
function invocationContext(): Context {
  const startedAt = Date.now();
  return { ...lambdaContext(), getRemainingTimeInMillis: () => startedAt + TIMEOUT_MS - Date.now() };
}

interface Invocation {
  body: Record<string, unknown>;
  ms: number;
  pages: number;
  failed: boolean;
}

/** Delivers every queued message, one per invocation, until the queue is empty (a failed one comes back). */
async function drain(bodies: string[]): Promise<Invocation[]> {
  const invocations: Invocation[] = [];
  const pending = [...bodies];
  while (pending.length > 0) {
    if (invocations.length > 200) throw new Error(`the queue does not drain: ${failures.slice(0, 3).join(' | ')}`);
    const body = pending.shift()!;
    const before = calls.length;
    const startedAt = Date.now();
    // A batch whose only record fails makes Powertools throw; SQS then delivers the message again.
    const failed = await worker(sqsEvent([body]), invocationContext()).then(
      (result) => result.batchItemFailures.length > 0,
      (error: { recordErrors?: Error[] }) => {
        if (!error.recordErrors) throw error;
        failures.push(...error.recordErrors.map((e) => e.message));
        return true;
      },
    );
    invocations.push({
      body: JSON.parse(body) as Record<string, unknown>,
      ms: Date.now() - startedAt,
      pages: calls.slice(before).filter((call) => call.limit !== 1).length,
      failed,
    });
    if (failed) pending.push(body);
    pending.push(...aws.queuedBodies());
  }
  return invocations;
}

const dayTask = JSON.stringify({ v: 1, kind: 'day', runId: 'run-1', day: DAY, attempt: 1, filters: {} });

async function expectEveryChatOnce(): Promise<void> {
  const ids = (await aws.recordsOf(DAY)).map((record) => String(record['id']));
  expect(duplicatesOf(ids)).toEqual([]);
  expect(ids.sort()).toEqual(
    sim
      .chats(DAY)
      .map((chat) => chat.id)
      .sort(),
  );
}

describe('v3.6 slice tasks bounded by design (simulated clock)', () => {
  it('archives a slice that would outlast the function timeout through tasks that each stop well before it', async () => {
    const invocations = await drain([dayTask]);
    expect(failures).toEqual([]);
    const slicePages = calls.filter((call) => call.limit !== 1);
    // The premise: read in one go, the slice's pages alone take longer than the function may run.
    expect(slicePages).toHaveLength(CHATS / 100);
    expect(slicePages.length * LATENCY_MS).toBeGreaterThan(TIMEOUT_MS);

    const sliceTasks = invocations.filter((invocation) => invocation.body['kind'] === 'slice');
    expect(sliceTasks.length).toBeGreaterThanOrEqual(4);
    for (const task of sliceTasks) {
      expect(task.failed).toBe(false);
      expect(task.pages).toBeLessThanOrEqual(5);
      // Hand-off 10 s into the invocation (60 s less 45 s + 5 s), plus the request in flight then.
      expect(task.ms).toBeLessThanOrEqual(10_000 + LATENCY_MS);
    }
    // One read of the slice: only its first request carries the filters, every other follows the cursor.
    expect(slicePages.filter((call) => call.pageId === undefined)).toHaveLength(1);
    expect(new Set(slicePages.map((call) => call.pageId)).size).toBe(slicePages.length);
    expect(invocations.filter((invocation) => invocation.body['kind'] === 'settle').length).toBeGreaterThanOrEqual(1);
    await expectEveryChatOnce();
  });

  it('a task that fails after writing its pages is retried from its own cursor page, not the slice start', async () => {
    // Plan, then the slice's first task, then its second, whose hand-off fails once (SQS send).
    await worker(sqsEvent([dayTask]), invocationContext());
    const [firstTask] = aws.queuedBodies();
    await worker(sqsEvent([firstTask!]), invocationContext());
    const [second] = aws.queuedBodies();
    const cursor = (JSON.parse(second!) as { cursor: { pageId: string; part: number } }).cursor;
    expect(cursor.part).toBeGreaterThan(1);

    let sends = 0;
    aws.sqsMock.on(SendMessageBatchCommand).callsFake(() => {
      sends += 1;
      if (sends === 1) throw new Error('SQS unavailable');
      return {};
    });
    const failedAt = calls.length;
    // The batch's only record failed: Powertools throws, and SQS delivers the message again.
    const failed = await worker(sqsEvent([second!]), invocationContext()).catch((error: unknown) => error);
    expect((failed as { recordErrors?: Error[] }).recordErrors?.[0]?.message).toContain('SQS unavailable');
    const keysAfterFailure = [...aws.bucket.keys()].sort();

    const retriedAt = calls.length;
    const retried = await worker(sqsEvent([second!]), invocationContext());
    expect(retried.batchItemFailures).toEqual([]);
    // The retry reads from the cursor the task carries, as the failed delivery did.
    expect(calls[failedAt]?.pageId).toBe(cursor.pageId);
    expect(calls[retriedAt]?.pageId).toBe(cursor.pageId);
    expect(calls.slice(retriedAt).every((call) => call.pageId !== undefined)).toBe(true);
    // It rewrote the same parts (same keys), nothing new beside them.
    expect([...aws.bucket.keys()].sort()).toEqual(keysAfterFailure);

    await drain(aws.queuedBodies());
    expect(failures).toEqual([]);
    await expectEveryChatOnce();
  });
});
