import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '#handlers/powertools.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

const DAY = '2026-06-10';
const aws = lambdaAwsMocks();
const { s3Mock, secretsMock, bucket, queuedBodies } = aws;
let sim: RunningSimulator;
let worker: typeof import('#handlers/worker.ts')['handler'];
let planner: typeof import('#handlers/planner.ts')['handler'];

beforeAll(async () => {
  sim = await startSimulator({ from: '2026-06-08', to: DAY, chatsPerDay: (day) => (day === DAY ? 60 : 30) });
  stubFunctionEnv(sim.url, { MAX_ATTEMPTS: '3' });
  ({ handler: worker } = await import('#handlers/worker.ts'));
  ({ handler: planner } = await import('#handlers/planner.ts'));
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  aws.reset({ login: sim.login, pat: sim.pat });
});

const dayTaskBody = (day: string, attempt = 1) =>
  JSON.stringify({ v: 1, kind: 'day', runId: 'run-1', day, attempt, filters: {} });
const pageTaskBody = (page: number, total = 60, pages = 3) =>
  JSON.stringify({ v: 1, kind: 'page', runId: 'run-1', day: DAY, attempt: 1, filters: {}, page, pages, total });

/** A page file of the page tasks above (run-1, attempt 1, the plan id of tasks queued without one). */
const pageFile = (page: number) =>
  `chats/dt=${DAY}/run=run-1.attempt-1.0.page-${String(page).padStart(5, '0')}.json.gz`;
const chatFiles = () => [...bucket.keys()].filter((key) => key.startsWith('chats/')).sort();

async function chatIdsInBucket(day: string): Promise<string[]> {
  const keys = [...bucket.keys()].filter((key) => key.startsWith(`chats/dt=${day}/`)).sort();
  const ids: string[] = [];
  for (const key of keys)
    ids.push(...(await decodeNdjsonGzip<{ id: string }>(bucket.get(key)!)).map((chat) => chat.id));
  return ids;
}

describe('worker handler', () => {
  it('plans a day task into page tasks, sent ten at most per SendMessageBatch', async () => {
    const result = await worker(sqsEvent([dayTaskBody(DAY)]), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    const tasks = queuedBodies().map((body) => JSON.parse(body) as Record<string, unknown>);
    // Page 1 came with the planning request: it is written at once, not fetched again.
    expect(tasks.map((task) => task.page)).toEqual([2, 3]);
    expect(tasks[0]).toMatchObject({ kind: 'page', day: DAY, pages: 3, total: 60, attempt: 1 });
    expect([...bucket.keys()].filter((key) => !key.startsWith('chats/')).sort()).toEqual([
      'manifests/day-plans/dt=2026-06-10/run=run-1.plan-1.json',
      'manifests/filters/unfiltered.json',
      expect.stringMatching(/^manifests\/passes\/dt=2026-06-10\/run=run-1\.attempt-1\.[0-9a-f]{8}\.page-1\.json$/),
      'manifests/time-zone/UTC.json',
    ]);
    const [firstPageKey, ...others] = chatFiles();
    expect(firstPageKey).toMatch(/^chats\/dt=2026-06-10\/run=run-1\.attempt-1\.[0-9a-f]{8}\.page-00001\.json\.gz$/);
    expect(others).toEqual([]);
    const firstPage = await decodeNdjsonGzip<{ id: string }>(bucket.get(firstPageKey!)!);
    expect(firstPage.map((chat) => chat.id)).toEqual(
      sim
        .chats(DAY)
        .slice(0, 25)
        .map((chat) => chat.id),
    );
  });

  it('writes a page as gzip NDJSON under its deterministic key', async () => {
    const result = await worker(sqsEvent([pageTaskBody(2)]), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'lake-bucket',
      Key: pageFile(2),
      ContentType: 'application/gzip',
    });
    const chats = await decodeNdjsonGzip<Record<string, unknown>>(bucket.get(pageFile(2))!);
    expect(chats.map((chat) => chat.id)).toEqual(
      sim
        .chats(DAY)
        .slice(25, 50)
        .map((chat) => chat.id),
    );
    expect(chats[0]).toMatchObject({ ...sim.chats(DAY)[25], _run_id: 'run-1', _page: 2 });
  });

  it('fails only the bad record of a batch; its neighbours succeed', async () => {
    const result = await worker(
      sqsEvent([pageTaskBody(1), 'not json at all', JSON.stringify({ v: 0, kind: 'page' }), pageTaskBody(3)]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-1' }, { itemIdentifier: 'msg-2' }]);
    expect(chatFiles()).toEqual([pageFile(1), pageFile(3)]);
  });

  it('reads the secret once and caches it across invocations for five minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 301_000); // past whatever earlier tests cached
      await worker(sqsEvent([pageTaskBody(1)]), lambdaContext());
      await worker(sqsEvent([pageTaskBody(2)]), lambdaContext());
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
      vi.setSystemTime(Date.now() + 301_000);
      await worker(sqsEvent([pageTaskBody(3)]), lambdaContext());
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
      expect(chatFiles()).toEqual([pageFile(1), pageFile(2), pageFile(3)]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fetches the secret once for a batch at a cold start, not once per record in parallel', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 1_000_000); // past every secret cached so far: a cold cache
      const result = await worker(sqsEvent([pageTaskBody(1), pageTaskBody(2), pageTaskBody(3)]), lambdaContext());
      expect(result.batchItemFailures).toEqual([]);
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs one line per failed record: task, attempt, error class and message, never the secret', async () => {
    const errors = vi.spyOn(logger, 'error');
    try {
      s3Mock.on(PutObjectCommand, { Key: pageFile(2) }).rejects(new Error(`AccessDenied while writing for ${sim.pat}`));
      const result = await worker(sqsEvent([pageTaskBody(1), pageTaskBody(2), '{"v":1,']), lambdaContext());
      expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['msg-1', 'msg-2']);
      expect(errors).toHaveBeenCalledTimes(2);
      expect(errors.mock.calls).toEqual(
        expect.arrayContaining([
          [
            'task failed',
            {
              taskKind: 'page',
              runId: 'run-1',
              day: DAY,
              page: 2,
              attempt: 1,
              errorClass: 'Error',
              error: 'AccessDenied while writing for [secret]',
            },
          ],
          [
            'task failed',
            { taskKind: 'unreadable', errorClass: 'InvalidInputError', error: 'archive task is not JSON' },
          ],
        ]),
      );
      expect(JSON.stringify(errors.mock.calls)).not.toContain(sim.pat);
    } finally {
      errors.mockRestore();
    }
  });

  it('queues one re-archive of the day when drift is seen, however many pages see it', async () => {
    const result = await worker(
      sqsEvent([pageTaskBody(1, 59), pageTaskBody(2, 59), pageTaskBody(3, 59)]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([]);
    const queued = queuedBodies().map((body) => JSON.parse(body) as Record<string, unknown>);
    expect(queued).toEqual([{ v: 1, kind: 'day', runId: 'run-1', day: DAY, attempt: 2, filters: {}, timeZone: 'UTC' }]);
    expect([...bucket.keys()].filter((key) => key.startsWith('chats/'))).toEqual([]);
  });

  it('runs planner → queue → worker against the simulator and stores every chat once, through drift', async () => {
    sim.addChats('2026-06-09', 0);
    const planned = await planner({ from: '2026-06-08', to: DAY }, lambdaContext('backfill-1'));
    expect(planned).toMatchObject({ days: 3 });
    const pending = queuedBodies();
    let deliveries = 0;
    let drifted = false;
    while (pending.length > 0) {
      const batch = pending.splice(0, 5);
      const result = await worker(sqsEvent(batch), lambdaContext());
      expect(result.batchItemFailures).toEqual([]);
      deliveries += batch.length;
      if (!drifted && deliveries >= 3) {
        // the three days are planned; their later pages are queued
        sim.addChats(DAY, 3, 'random');
        drifted = true;
      }
      pending.push(...queuedBodies());
    }
    for (const day of ['2026-06-08', '2026-06-09', DAY]) {
      const ids = await chatIdsInBucket(day);
      expect(duplicatesOf(ids)).toEqual([]);
      expect(ids.sort()).toEqual(
        sim
          .chats(day)
          .map((chat) => chat.id)
          .sort(),
      );
    }
    expect(
      [...bucket.keys()].some((key) =>
        /drift-claims\/dt=2026-06-10\/run=[^/]*\.attempt-1\.[0-9a-f]{8}\.json$/.test(key),
      ),
    ).toBe(true);
  });
  // Last: the malformed secret stays in the cache afterwards.
  it('fails the batch on a malformed secret without echoing it, and writes nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 3_600_000); // later than any cached secret
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"login":"only-login-hunter2"}' });
      const error = await worker(sqsEvent([pageTaskBody(1)]), lambdaContext()).catch((caught: unknown) => caught);
      const recordErrors = (error as { recordErrors: Error[] }).recordErrors;
      expect(recordErrors.map((recordError) => recordError.message)).toEqual([
        'the LiveChat secret must be JSON {"login": "...", "pat": "..."}, {"bearerToken": "..."} or the legacy {"login": "...", "apiKey": "..."}',
      ]);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2');
      expect(bucket.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
