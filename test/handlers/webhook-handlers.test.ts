import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { v36ChatIdOf } from '#simulator/v36-archives.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { documented } from '#test/support/documented-archives.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * The AWS path of a chat_deactivated webhook, over aws-sdk-client-mock: the receiver behind the
 * function URL (secret from Secrets Manager, one chat task on SQS per accepted delivery) and the
 * worker's chat task (get_chat against the v3.6 simulator, the thread written into the bucket),
 * redelivered, failing, and merged with the nightly pass.
 */
const DAY = '2026-06-10';
const WEBHOOK_SECRET = 'generated-webhook-secret-0123456789abcdef';
const aws = lambdaAwsMocks();
const { bucket, secretsMock, sqsMock, queuedBodies } = aws;
let sim: RunningV36Simulator;
let worker: typeof import('#handlers/worker.ts')['handler'];
let receiver: typeof import('#handlers/webhook-receiver.ts')['handler'];
let flaky: string;

beforeAll(async () => {
  const threads = (await startV36Simulator({ from: DAY, to: DAY, chatsPerDay: () => 30 })).archives(DAY);
  flaky = threads[1]!.thread.id;
  sim = await startV36Simulator({
    from: DAY,
    to: DAY,
    chatsPerDay: () => 30,
    getChatFaults: [{ threadId: flaky, status: 503, times: 2 }],
  });
  stubFunctionEnv(sim.url, {
    SOURCE: 'v3.6',
    WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook',
    TIME_ZONE: 'UTC',
  });
  ({ handler: worker } = await import('#handlers/worker.ts'));
  ({ handler: receiver } = await import('#handlers/webhook-receiver.ts'));
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  aws.reset({ accountId: sim.accountId, token: sim.token });
  secretsMock
    .on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook' })
    .resolves({ SecretString: WEBHOOK_SECRET });
});

function urlEvent(body: unknown, method = 'POST', base64 = false): LambdaFunctionURLEvent {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: base64,
    body: base64 ? Buffer.from(text).toString('base64') : text,
    requestContext: {
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'LiveChat' },
    },
  } as unknown as LambdaFunctionURLEvent;
}

const delivery = (threadId: string, overrides: Record<string, unknown> = {}) => ({
  ...documented('src/pages/management/webhooks/chat-deactivated-webhook.json'),
  secret_key: WEBHOOK_SECRET,
  payload: { chat_id: v36ChatIdOf(threadId), thread_id: threadId },
  ...overrides,
});

async function threadIds(prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (const key of [...bucket.keys()].filter((name) => name.startsWith(`${prefix}dt=${DAY}/`)).sort()) {
    const rows = await decodeNdjsonGzip<Record<string, unknown>>(bucket.get(key)!);
    ids.push(...rows.map((row) => String(prefix === 'chats/' ? row['id'] : (row['thread'] as { id: string }).id)));
  }
  return ids;
}

describe('webhook receiver (function URL)', () => {
  it('queues one chat task per accepted delivery and answers each case; never touches S3', async () => {
    const thread = sim.archives(DAY)[0]!.thread.id;
    const answers = [
      await receiver(urlEvent(delivery(thread)), lambdaContext()),
      await receiver(urlEvent(delivery(thread), 'POST', true), lambdaContext()),
      await receiver(urlEvent(delivery(thread, { secret_key: 'wrong' })), lambdaContext()),
      await receiver(urlEvent(delivery(thread, { action: 'incoming_chat' })), lambdaContext()),
      await receiver(urlEvent(delivery('../etc')), lambdaContext()),
      await receiver(urlEvent('not json'), lambdaContext()),
      await receiver(urlEvent(`{"pad":"${'x'.repeat(1_100_000)}"}`), lambdaContext()),
      await receiver(urlEvent('', 'GET'), lambdaContext()),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 403, 200, 400, 400, 413, 405]);
    const tasks = queuedBodies().map((body) => JSON.parse(body) as Record<string, unknown>);
    expect(tasks).toEqual([
      expect.objectContaining({ kind: 'chat', chatId: v36ChatIdOf(thread), threadId: thread, timeZone: 'UTC' }),
      expect.objectContaining({ kind: 'chat', threadId: thread }),
    ]);
    expect(aws.s3Mock.calls()).toHaveLength(0);
    // The secret is fetched once and cached.
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    for (const answer of answers) expect(String(answer.body)).not.toContain(WEBHOOK_SECRET);
  });

  it('fails the invocation (LiveChat retries) when the task cannot be queued', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('SQS unavailable'));
    const thread = sim.archives(DAY)[0]!.thread.id;
    await expect(receiver(urlEvent(delivery(thread)), lambdaContext())).rejects.toThrow(/SQS unavailable/);
  });
});

describe('worker: the webhook chat task', () => {
  it('reads the thread with get_chat (failing twice first), writes both tables once, and a redelivery overwrites', async () => {
    const thread = flaky;
    await receiver(urlEvent(delivery(thread)), lambdaContext());
    await receiver(urlEvent(delivery(thread)), lambdaContext());
    const bodies = queuedBodies();
    expect(bodies).toHaveLength(2);
    const result = await worker(sqsEvent(bodies), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    expect(sim.stats().faultsInjected['getChat']).toBe(2);
    expect([...bucket.keys()].filter((key) => !key.startsWith('manifests/')).sort()).toEqual([
      `archives/dt=${DAY}/webhook-${thread}.json.gz`,
      `chats/dt=${DAY}/webhook-${thread}.json.gz`,
    ]);
    expect(await threadIds('chats/')).toEqual([thread]);
    expect(await threadIds('archives/')).toEqual([thread]);
  });

  it('a thread LiveChat does not know fails its record (dead-lettered after the queue redeliveries), others pass', async () => {
    const ok = sim.archives(DAY)[3]!.thread.id;
    const result = await worker(
      sqsEvent([
        JSON.stringify({
          v: 1,
          kind: 'chat',
          runId: 'webhook',
          chatId: 'CNOSUCHCHAT',
          threadId: 'NOSUCHCHAT',
          timeZone: 'UTC',
          receivedAt: new Date().toISOString(),
        }),
        JSON.stringify({
          v: 1,
          kind: 'chat',
          runId: 'webhook',
          chatId: v36ChatIdOf(ok),
          threadId: ok,
          timeZone: 'UTC',
          receivedAt: new Date().toISOString(),
        }),
      ]),
      lambdaContext(),
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(await threadIds('chats/')).toEqual([ok]);
  });

  it('the nightly pass of the same day merges the webhook threads: every thread once in both tables', async () => {
    const webhookThreads = sim
      .archives(DAY)
      .slice(5, 9)
      .map((archive) => archive.thread.id);
    for (const thread of webhookThreads) await receiver(urlEvent(delivery(thread)), lambdaContext());
    expect((await worker(sqsEvent(queuedBodies()), lambdaContext())).batchItemFailures).toEqual([]);
    // The night: a day task, then its slice and settle tasks, as SQS would deliver them.
    let bodies = [JSON.stringify({ v: 1, kind: 'day', runId: 'night-1', day: DAY, attempt: 1, filters: {} })];
    for (let round = 0; round < 6 && bodies.length; round += 1) {
      expect((await worker(sqsEvent(bodies), lambdaContext())).batchItemFailures).toEqual([]);
      bodies = queuedBodies();
    }
    const all = sim
      .archives(DAY)
      .map((archive) => archive.thread.id)
      .sort();
    for (const prefix of ['chats/', 'archives/']) {
      const ids = await threadIds(prefix);
      expect(duplicatesOf(ids), prefix).toEqual([]);
      expect([...ids].sort(), prefix).toEqual(all);
    }
    expect([...bucket.keys()].filter((key) => key.includes('webhook-'))).toEqual([]);
  });
});

vi.setConfig({ testTimeout: 30_000 });
