import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { decodeTask } from './core/archive-task.ts';
import { createLivechatClient, type LivechatClient } from './core/livechat-client.ts';
import { handleQueuedTask, type QueuedTaskDeps } from './core/queued-task-handler.ts';
import type { RetryEvent } from './core/retrying-api.ts';
import { createArchivesClient, type ArchivesClient, type V36Credentials } from './core/v36/list-archives-client.ts';
import { S3Sink } from './core/sinks/s3-sink.ts';
import { SqsTaskSender } from './core/sqs-task-sender.ts';
import { livechatSecretSchema, livechatV36SecretSchema, loadWorkerConfig } from './handler-config.ts';
import { logger, metrics } from './powertools.ts';

const config = loadWorkerConfig();
const processor = new BatchProcessor(EventType.SQS);
const sink = new S3Sink(new S3Client({}), config.BUCKET_NAME);
// Page batches rarely send anything: the SQS client is loaded when a task first has follow-up work.
const sender = new SqsTaskSender(async () => new (await import('@aws-sdk/client-sqs')).SQSClient({}), config.QUEUE_URL);
const SECRET_CACHE_SECONDS = 300;

let cachedClient: { apiKey: string; login: string; client: LivechatClient } | undefined;

/** Credentials come from Secrets Manager through Powertools Parameters, cached across invocations. */
async function livechatClient(): Promise<LivechatClient> {
  const secret = livechatSecretSchema.safeParse(
    await getSecret(config.SECRET_ID, { transform: 'json', maxAge: SECRET_CACHE_SECONDS }),
  );
  if (!secret.success) throw new Error('the LiveChat secret must be JSON {"login": "...", "apiKey": "..."}');
  const { login, apiKey } = secret.data;
  if (cachedClient?.login !== login || cachedClient.apiKey !== apiKey) {
    cachedClient = {
      login,
      apiKey,
      client: createLivechatClient({
        apiUrl: config.API_URL,
        login,
        apiKey,
        timeoutMs: config.REQUEST_TIMEOUT_MS,
        totalTimeoutMs: config.REQUEST_BUDGET_MS,
        onRetry,
      }),
    };
  }
  return cachedClient.client;
}

function onRetry(retry: RetryEvent): void {
  metrics.addMetric(retry.reason === 'rate-limited' ? 'RateLimited' : 'Retries', MetricUnit.Count, 1);
  logger.warn('retrying LiveChat request', { ...retry });
}

let cachedArchives: { secret: string; client: ArchivesClient } | undefined;

/** SOURCE v3.6: the list_archives client, from a `{"accountId","token"}` or `{"bearerToken"}` secret. */
async function archivesClient(): Promise<ArchivesClient> {
  const secret = livechatV36SecretSchema.safeParse(
    await getSecret(config.SECRET_ID, { transform: 'json', maxAge: SECRET_CACHE_SECONDS }),
  );
  if (!secret.success) {
    throw new Error('the LiveChat v3.6 secret must be JSON {"accountId": "...", "token": "..."} or {"bearerToken": "..."}');
  }
  const credentials: V36Credentials =
    'bearerToken' in secret.data
      ? { kind: 'bearer', token: secret.data.bearerToken }
      : { kind: 'pat', accountId: secret.data.accountId, token: secret.data.token };
  const key = JSON.stringify(credentials);
  if (cachedArchives?.secret !== key) {
    cachedArchives = {
      secret: key,
      client: createArchivesClient({
        apiUrl: config.API_URL,
        credentials,
        ...(config.REGION ? { region: config.REGION } : {}),
        timeoutMs: config.REQUEST_TIMEOUT_MS,
        totalTimeoutMs: config.REQUEST_BUDGET_MS,
        onRetry,
      }),
    };
  }
  return cachedArchives.client;
}

async function sourceDeps(): Promise<Pick<QueuedTaskDeps, 'client' | 'archives'>> {
  if (config.SOURCE === 'v3.6') {
    return { archives: { client: await archivesClient(), busyDayThreshold: config.BUSY_DAY_THRESHOLD } };
  }
  return { client: await livechatClient() };
}

async function recordHandler(record: SQSRecord): Promise<void> {
  const task = decodeTask(record.body);
  const result = await handleQueuedTask(task, {
    ...(await sourceDeps()),
    sink,
    sender,
    maxAttempts: config.MAX_ATTEMPTS,
  });
  const context = { runId: task.runId, attempt: task.attempt, ...result };
  switch (result.kind) {
    case 'day-planned':
      if (result.firstPage) {
        metrics.addMetric('PagesArchived', MetricUnit.Count, 1);
        metrics.addMetric('ChatsArchived', MetricUnit.Count, result.firstPage.chats);
      }
      logger.info('day planned', context);
      break;
    case 'page-written':
      metrics.addMetric('PagesArchived', MetricUnit.Count, 1);
      metrics.addMetric('ChatsArchived', MetricUnit.Count, result.chats);
      logger.debug('page written', context);
      break;
    case 'slice-written':
      metrics.addMetric('PagesArchived', MetricUnit.Count, result.parts);
      metrics.addMetric('ChatsArchived', MetricUnit.Count, result.chats);
      if (result.cursorRestarts > 0) metrics.addMetric('CursorRestarts', MetricUnit.Count, result.cursorRestarts);
      logger.debug('slice written', context);
      break;
    case 'drift':
      metrics.addMetric('DriftDetected', MetricUnit.Count, 1);
      if (result.next === 'gave-up') {
        metrics.addMetric('DaysIncomplete', MetricUnit.Count, 1);
        logger.error('day keeps changing: left incomplete after the last attempt', context);
      } else {
        logger.warn('drift: day will be archived again', context);
      }
      break;
  }
}

/** SQS batch with partial failures: a bad or failing record is retried (then dead-lettered) alone. */
export const handler = async (event: SQSEvent, context: Context) => {
  logger.addContext(context);
  try {
    return await processPartialResponse(event, recordHandler, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
