import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { useBundledHandler } from '#test/support/lambda-bundle.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * The worker as Lambda runs it, bundled and minified as the stack bundles it (ESM, node24, the
 * AWS SDK external), with SOURCE=v3.6 and SLICE_PAGES_PER_TASK=2: a day of one slice of 7
 * cursor pages is read by 4 slice tasks, each queueing the next with the cursor.
 */
const DAY = '2026-06-12';
type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const aws = lambdaAwsMocks();
let sim: RunningV36Simulator;

beforeAll(async () => {
  sim = await startV36Simulator({ from: DAY, to: DAY, chatsPerDay: () => 650 });
  stubFunctionEnv(sim.url, { SOURCE: 'v3.6', BUSY_DAY_THRESHOLD: '100000', SLICE_PAGES_PER_TASK: '2' });
});
afterAll(() => sim?.close());
const worker = useBundledHandler<Handler>('functions/handlers/worker.ts', 'test/v36', 'worker.mjs');

describe('the bundled worker with SOURCE=v3.6', () => {
  it('reads a slice through bounded tasks that hand the cursor on, and settles the day whole', async () => {
    aws.reset({ accountId: sim.accountId, token: sim.token });
    const pending = [JSON.stringify({ v: 1, kind: 'day', runId: 'run-b', day: DAY, attempt: 1, filters: {} })];
    const sliceTasks: Array<{ cursor?: { part: number } }> = [];
    while (pending.length > 0) {
      const body = pending.shift()!;
      const task = JSON.parse(body) as { kind: string; cursor?: { part: number } };
      if (task.kind === 'slice') sliceTasks.push(task);
      const result = await worker.handler(sqsEvent([body]), lambdaContext());
      expect(result.batchItemFailures).toEqual([]);
      pending.push(...aws.queuedBodies());
    }
    // 650 chats on pages of 100: 7 pages, 2 a task.
    expect(sliceTasks.map((task) => task.cursor?.part ?? 1)).toEqual([1, 3, 5, 7]);
    const ids = (await aws.recordsOf(DAY)).map((record) => String(record['id']));
    expect(duplicatesOf(ids)).toEqual([]);
    expect(ids.sort()).toEqual(
      sim
        .chats(DAY)
        .map((chat) => chat.id)
        .sort(),
    );
  });
});
