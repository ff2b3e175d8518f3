import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger, metrics } from '#handlers/powertools.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

// An account in fra whose API answers with a Deprecation header (LiveChat's versioning docs:
// src/pages/messaging/index.mdx), read by the worker Lambda with a PAT secret and REGION fra.
const DAY = '2026-06-10';
const aws = lambdaAwsMocks();
let sim: RunningSimulator;
let worker: typeof import('#handlers/worker.ts')['handler'];

beforeAll(async () => {
  sim = await startSimulator({
    from: DAY,
    to: DAY,
    chatsPerDay: () => 60,
    region: 'fra',
    lifecycle: { header: 'Deprecation', value: '2099-01-01' },
  });
  stubFunctionEnv(sim.url, { REGION: 'fra' });
  ({ handler: worker } = await import('#handlers/worker.ts'));
  aws.reset({ login: sim.login, pat: sim.pat });
});
afterAll(async () => sim?.close());

const pageTask = (page: number) =>
  JSON.stringify({ v: 1, kind: 'page', runId: 'run-1', day: DAY, attempt: 1, filters: {}, page, pages: 3, total: 60 });

describe('worker: API retirement', () => {
  it('logs the Deprecation date once per invocation and publishes ApiDaysLeft once, for a batch of pages', async () => {
    const warn = vi.spyOn(logger, 'warn');
    const addMetric = vi.spyOn(metrics, 'addMetric');
    for (const invocation of [1, 2]) {
      const result = await worker(
        sqsEvent([pageTask(1), pageTask(2), pageTask(3)]),
        lambdaContext(`req-${invocation}`),
      );
      expect(result.batchItemFailures).toEqual([]);
      const lines = warn.mock.calls.filter(([message]) => String(message).includes('"Deprecation: 2099-01-01"'));
      expect(lines).toHaveLength(invocation);
      expect(addMetric.mock.calls.filter(([name]) => name === 'ApiDaysLeft')).toHaveLength(invocation);
    }
    expect(sim.stats().requests).toBe(6);
  });
});
