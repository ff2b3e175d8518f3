import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadPlannerConfig, loadWorkerConfig } from '#handlers/handler-config.ts';
import { parseRunRequest, planRun } from '#pipeline/run-planner.ts';
import { decodeTask } from '#shared/archive-task.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { answerNoObjects } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

const good = {
  v: 1,
  kind: 'page',
  runId: 'r',
  day: '2026-10-01',
  attempt: 1,
  filters: {},
  page: 1,
  pages: 2,
  total: 30,
};

describe('bad queue messages: one clear line each', () => {
  it.each<[string, string, RegExp]>([
    ['not JSON', '{"v":1,', /^archive task is not JSON$/],
    ['an older message version', JSON.stringify({ ...good, v: 0 }), /message version 0, this worker reads version 1/],
    ['a newer message version', JSON.stringify({ ...good, v: 2 }), /message version 2, this worker reads version 1/],
    ['an unknown kind', JSON.stringify({ ...good, kind: 'week' }), /^archive task is invalid/],
    ['a malformed day', JSON.stringify({ ...good, day: '2026-02-30' }), /day: not a calendar date/],
    ['a page beyond its pages', JSON.stringify({ ...good, page: 3 }), /page is beyond pages/],
    ['an unknown filter', JSON.stringify({ ...good, filters: { colour: 'red' } }), /^archive task is invalid: filters/],
    [
      'a bad filter value',
      JSON.stringify({ ...good, filters: { rate: 'great' } }),
      /^archive task is invalid: filters.rate/,
    ],
    ['an extra field', JSON.stringify({ ...good, apiKey: 'x' }), /^archive task is invalid/],
  ])('%s', (_name, body, message) => {
    expect(() => decodeTask(body)).toThrow(InvalidInputError);
    expect(() => decodeTask(body)).toThrow(message);
    try {
      decodeTask(body);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

describe('bad planner events and configuration', () => {
  const settings = {
    timeZone: 'UTC',
    settleHours: 2,
    lookbackDays: 3,
    maxRangeDays: 400,
    defaultFilters: {},
    fallbackRunId: 'm',
  };
  it.each<[string, unknown, RegExp]>([
    ['a malformed date', { from: '2026/01/01' }, /^from must be a date as YYYY-MM-DD/],
    ['from after to', { from: '2026-02-01', to: '2026-01-01' }, /^from 2026-02-01 is after to 2026-01-01$/],
    ['a range over the maximum', { from: '2024-01-01', to: '2026-01-01' }, /732 days, more than the maximum of 400/],
    ['an unknown filter value', { from: '2026-01-01', filters: { type: 'sms' } }, /^planner input must be/],
    ['a bad run id', { from: '2026-01-01', runId: '../../etc' }, /^planner input must be/],
    ['not an object', 'run please', /^planner input must be/],
  ])('%s', (_name, event, message) => {
    expect(() => planRun(parseRunRequest(event), settings)).toThrow(message);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['a missing queue', {}, /invalid function configuration: QUEUE_URL/],
    ['a bad time zone', { QUEUE_URL: 'https://q', TIME_ZONE: 'Mars/Olympus' }, /TIME_ZONE: unknown time zone/],
    ['filters that are not JSON', { QUEUE_URL: 'https://q', FILTERS: '{type:chat' }, /FILTERS: FILTERS is not JSON/],
    ['an unknown filter', { QUEUE_URL: 'https://q', FILTERS: '{"colour":"red"}' }, /FILTERS/],
  ])('planner configuration with %s fails at start-up, naming it', (_name, env, message) => {
    expect(() => loadPlannerConfig(env)).toThrow(message);
  });

  it('worker configuration without a bucket fails at start-up, naming it', () => {
    expect(() => loadWorkerConfig({ QUEUE_URL: 'https://q', SECRET_ID: 's' })).toThrow(/BUCKET_NAME/);
  });
});

describe('the worker with bad records and secrets', () => {
  let sim: RunningSimulator;
  const s3Mock = mockClient(S3Client);
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);
  let worker: typeof import('#handlers/worker.ts')['handler'];

  beforeAll(async () => {
    sim = await startSimulator({ from: '2026-10-01', to: '2026-10-01', chatsPerDay: () => 30 });
    stubFunctionEnv(sim.url);
    s3Mock.on(PutObjectCommand).resolves({});
    s3Mock.on(ListObjectsV2Command).resolves({});
    s3Mock.on(DeleteObjectsCommand).resolves({});
    answerNoObjects(s3Mock);
    sqsMock.on(SendMessageBatchCommand).resolves({});
    ({ handler: worker } = await import('#handlers/worker.ts'));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await sim.close();
  });

  it('a missing secret fails every record with a clear error and writes nothing', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(
        new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
      );
    const error = (await worker(sqsEvent([JSON.stringify(good)]), lambdaContext()).catch(
      (caught: unknown) => caught,
    )) as {
      recordErrors: Error[];
    };
    expect(error.recordErrors.map((recordError) => recordError.message).join()).toMatch(
      /can't find the specified secret/,
    );
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('bad records go to the retry/DLQ path alone; good neighbours are written', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ login: sim.login, apiKey: sim.apiKey }) });
    const result = await worker(
      sqsEvent([
        JSON.stringify(good),
        '',
        JSON.stringify({ ...good, v: 0 }),
        JSON.stringify({ ...good, page: 2 }),
        JSON.stringify({ ...good, day: 'yesterday' }),
      ]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: 'msg-1' },
      { itemIdentifier: 'msg-2' },
      { itemIdentifier: 'msg-4' },
    ]);
    // Records of a batch run in parallel: the two writes may land in either order.
    expect(
      s3Mock
        .commandCalls(PutObjectCommand)
        .map((call) => call.args[0].input.Key)
        .filter((key) => key?.startsWith('chats/'))
        .sort(),
    ).toEqual([
      expect.stringMatching(/^chats\/dt=2026-10-01\/run=.+\.attempt-1\.[0-9a-z]+\.page-00001\.json\.gz$/),
      expect.stringMatching(/^chats\/dt=2026-10-01\/run=.+\.attempt-1\.[0-9a-z]+\.page-00002\.json\.gz$/),
    ]);
  });

  // Last: the bad secret stays cached afterwards.
  it('a secret that is not JSON fails with a line that does not quote it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000); // past the cached secret
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: 'raw-api-key-0123456789' });
      const error = (await worker(sqsEvent([JSON.stringify(good)]), lambdaContext()).catch(
        (caught: unknown) => caught,
      )) as {
        recordErrors: Error[];
      };
      expect(error.recordErrors.map((recordError) => recordError.name)).toEqual(['CredentialsNotSetError']);
      expect(error.recordErrors[0]!.message).toMatch(
        /^the LiveChat secret is not JSON: it still holds the value generated at deploy/,
      );
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('raw-api-key');
    } finally {
      vi.useRealTimers();
    }
  });
});
