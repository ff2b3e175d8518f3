import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { useBundledHandler } from '#test/support/lambda-bundle.ts';
import { captureJsonLogs, lambdaContext, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * The planner as Lambda runs it: bundled and minified as the stack bundles it (ESM, node24, the
 * AWS SDK external), invoked with {"doctor": true}. Its answer and its log lines (Powertools JSON,
 * one per check) are what an operator sees.
 */
type Handler = (event: unknown, context: Context) => Promise<unknown>;

const aws = lambdaAwsMocks();
let sim: RunningSimulator;

beforeAll(async () => {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  sim = await startSimulator({ from: '2026-01-01', to: yesterday, chatsPerDay: 10 });
  stubFunctionEnv(sim.url, { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_DEV: 'false' });
});
afterAll(() => sim?.close());
const planner = useBundledHandler<Handler>('functions/handlers/planner.ts', 'test/doctor', 'planner.mjs');

describe('the bundled planner, {"doctor": true}', () => {
  it('answers the checks and logs one JSON line per check, planning and writing nothing', async () => {
    aws.reset({ login: sim.login, pat: sim.pat, accountId: sim.accountId });
    type DoctorAnswer = { doctor: string; checks: Array<{ check: string; status: string }> };
    const captured = await captureJsonLogs(
      () => planner.handler({ doctor: true }, lambdaContext()) as Promise<DoctorAnswer>,
    );
    const answer = captured.result;
    expect(answer.doctor).toBe('ok');
    const lines = captured.lines.filter((line) => line.message === 'doctor check');
    expect(lines.map((line) => line.check)).toEqual([
      'credentials',
      'data-centre',
      'api-lifecycle',
      'volume',
      'sample',
      'retention',
      'lake',
    ]);
    expect(lines.map((line) => line.check)).toEqual(answer.checks.map((check) => check.check));
    for (const line of lines) expect(line).toMatchObject({ level: 'INFO', status: 'ok', summary: expect.any(String) });
    expect(JSON.stringify(lines)).not.toContain(sim.pat);
    expect(aws.s3Mock.calls().map((call) => call.args[0].constructor.name)).toEqual(['ListObjectsV2Command']);
    expect(aws.s3Mock.commandCalls(ListObjectsV2Command)[0]!.args[0].input.Prefix).toBe('manifests/time-zone/');
    expect(aws.sqsMock.calls()).toHaveLength(0);
  });
});
