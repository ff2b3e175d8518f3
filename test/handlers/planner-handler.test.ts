import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { addDays } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { lambdaContext } from '#test/support/lambda-fixtures.ts';

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
let handler: typeof import('#handlers/planner.ts')['handler'];
// The doctor's checks run before each plan: LiveChat is the simulator, with the secret's credentials.
let sim: RunningSimulator;
const yesterday = addDays(new Date().toISOString().slice(0, 10), -1);

beforeAll(async () => {
  sim = await startSimulator({ from: addDays(yesterday, -9), to: yesterday, login: 'agent@example.com', pat: 'pat-1' });
  vi.stubEnv('API_URL', sim.url);
  vi.stubEnv('QUEUE_URL', 'https://sqs.eu-west-1.amazonaws.com/123456789012/pages');
  vi.stubEnv('SECRET_ID', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:livechat');
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  vi.stubEnv('TIME_ZONE', 'Europe/Warsaw');
  vi.stubEnv('LOOKBACK_DAYS', '3');
  vi.stubEnv('SETTLE_HOURS', '2');
  vi.stubEnv('FILTERS', '{"type":"chat"}');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('#handlers/planner.ts'));
});
afterAll(() => sim.close());

beforeEach(() => {
  sqsMock.reset();
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"login":"agent@example.com","pat":"pat-1"}' });
});

function sentBodies(): Array<Record<string, unknown>> {
  return sqsMock
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.MessageBody!) as Record<string, unknown>);
}

describe('planner handler', () => {
  it('queues one day task per day of a scheduled run, in batches of ten', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const result = await handler({ scheduledTime: '2026-11-25T01:30:00Z' }, lambdaContext());
    // 01:30Z is 02:30 in Warsaw; minus 2 h settle is still the 25th there, so the last day is the 24th.
    expect(sentBodies().map((task) => task.day)).toEqual(['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24']);
    expect(sentBodies()[0]).toMatchObject({
      kind: 'day',
      attempt: 1,
      runId: 'scheduled-20261125T013000Z',
      filters: { type: 'chat' },
    });
    expect(result).toMatchObject({ days: 4, messages: 4, batchCalls: 1 });
  });

  it('refuses a backfill before PROJECTION_START and queues nothing (the PlannerErrors alarm sees the error)', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({});
    await expect(handler({ from: '2019-06-01', to: '2020-01-05' }, lambdaContext())).rejects.toThrow(
      /before projectionStart \(2020-01-01\)/,
    );
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('fans a 3-year backfill out as day tasks only, ten per SendMessageBatch', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({});
    const result = await handler({ from: '2023-01-01', to: '2025-12-31' }, lambdaContext('req-42'));
    expect(result).toMatchObject({ runId: 'manual-req-42', days: 1096, messages: 1096, batchCalls: 110 });
    for (const call of sqsMock.commandCalls(SendMessageBatchCommand)) {
      expect(call.args[0].input.Entries!.length).toBeLessThanOrEqual(10);
    }
  });

  it('sends entries reported in Failed again, and only those', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({});
    await handler({ from: '2026-01-01', to: '2026-01-03' }, lambdaContext());
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Entries!.map((entry) => JSON.parse(entry.MessageBody!).day)).toEqual(['2026-01-02']);
  });

  it('fails loudly when some entries keep failing', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolves({ Failed: [{ Id: '0', Code: 'KMS.DisabledException', SenderFault: true }] });
    await expect(handler({ from: '2026-01-01' }, lambdaContext())).rejects.toThrow(
      /1 of 1 archive tasks could not be queued after 5 attempts: KMS.DisabledException \(sender fault\)/,
    );
  });

  it('refuses a v3.6 backfill with filters list_archives cannot apply, before queueing anything', async () => {
    vi.stubEnv('SOURCE', 'v3.6');
    vi.resetModules();
    try {
      const { handler: v36Planner } = await import('#handlers/planner.ts');
      await expect(
        v36Planner({ from: '2026-01-01', filters: { rate: 'rated_good' } }, lambdaContext()),
      ).rejects.toThrow(/filter\(s\) rate have no list_archives \(v3.6\) equivalent/);
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    } finally {
      vi.stubEnv('SOURCE', 'v2');
    }
  });

  it('runs the doctor\'s checks alone for {"doctor": true}: their results, nothing planned or queued', async () => {
    const result = (await handler({ doctor: true }, lambdaContext())) as {
      doctor: string;
      checks: Array<{ check: string; status: string }>;
    };
    expect(result.doctor).toBe('ok');
    expect(result.checks.map((check) => check.check)).toEqual([
      'credentials',
      'data-centre',
      'api-lifecycle',
      'volume',
      'sample',
      'retention',
    ]);
    expect(result.checks.find((check) => check.check === 'credentials')?.status).toBe('ok');
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('stops the night before queueing when LiveChat refuses the credentials, with the doctor line', async () => {
    vi.stubEnv('SECRET_ID', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:livechat-refused');
    vi.resetModules();
    try {
      secretsMock
        .on(GetSecretValueCommand)
        .resolves({ SecretString: '{"login":"agent@example.com","pat":"revoked-pat-2"}' });
      const { handler: refusedPlanner } = await import('#handlers/planner.ts');
      const failure = await refusedPlanner({ scheduledTime: '2026-11-25T01:30:00Z' }, lambdaContext()).catch(
        (error: unknown) => error as Error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect((failure as Error).name).toBe('DoctorCheckFailedError');
      expect((failure as Error).message).toMatch(
        /^doctor: failed +credentials +Personal Access Token .* refused .*archives_read/,
      );
      expect((failure as Error).message).not.toContain('revoked-pat-2');
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    } finally {
      vi.stubEnv('SECRET_ID', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:livechat');
    }
  });

  it('rejects a malformed event with one clear line and queues nothing', async () => {
    await expect(handler({ from: 'last tuesday' }, lambdaContext())).rejects.toThrow(/^from must be a date/);
    await expect(handler({ hello: 'world' }, lambdaContext())).rejects.toThrow(/planner input must be/);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
  // Last: the unfilled secret stays in the Parameters cache afterwards.
  it('refuses to queue while the secret still holds the value generated at deploy, naming the fix', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000); // past the secret checked by earlier tests
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'x8#Kq2!vR9pL&w3Zt5@mN7yB' });
      const failure = (await handler({ from: '2026-01-01', to: '2026-01-02' }, lambdaContext()).then(
        () => undefined,
        (error: unknown) => error,
      )) as Error | undefined;
      expect(failure).toBeInstanceOf(Error);
      expect(failure?.name).toBe('CredentialsNotSetError');
      expect(failure?.message).toMatch(/still holds the value generated at deploy.*put-secret-value/);
      expect(failure?.message).not.toContain('x8#Kq2');
      expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
