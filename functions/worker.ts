import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { livechatSecretSchema, livechatV36SecretSchema, loadWorkerConfig } from './handler-config.ts';
import { S3Sink } from './lake/sinks/s3-sink.ts';
import { handleQueuedTask, type QueuedTaskDeps } from './pipeline/queued-task-handler.ts';
import { SqsTaskSender } from './pipeline/sqs-task-sender.ts';
import { logger, metrics } from './powertools.ts';
import { decodeTask } from './shared/archive-task.ts';
import type { RetryEvent } from './sources/retrying-api.ts';
import { createLivechatClient, type LivechatClient } from './sources/v2/livechat-client.ts';
import { type ArchivesClient, createArchivesClient, type V36Credentials } from './sources/v36/list-archives-client.ts';

const config = loadWorkerConfig();
const processor = new BatchProcessor(EventType.SQS);
const sink = new S3Sink(new S3Client({}), config.BUCKET_NAME);
// Page batches rarely send anything: the SQS client is loaded when a task first has follow-up work.
const sender = new SqsTaskSender(async () => new (await import('@aws-sdk/client-sqs')).SQSClient({}), config.QUEUE_URL);
const SECRET_CACHE_SECONDS = 300;

/** Builds a client from the secret's value, again only when the value changes (rotation). */
function perSecretValue<T>(create: (secret: unknown) => T): (secret: unknown) => T {
  let last: { key: string; value: T } | undefined;
  return (secret) => {
    const key = JSON.stringify(secret);
    if (last?.key !== key) last = { key, value: create(secret) };
    return last.value;
  };
}

function onRetry(retry: RetryEvent): void {
  metrics.addMetric(retry.reason === 'rate-limited' ? 'RateLimited' : 'Retries', MetricUnit.Count, 1);
  logger.warn('retrying LiveChat request', { ...retry });
}

const requestTuning = {
  apiUrl: config.API_URL,
  timeoutMs: config.REQUEST_TIMEOUT_MS,
  totalTimeoutMs: config.REQUEST_BUDGET_MS,
  onRetry,
};

/** SOURCE v2: `{"login": "...", "apiKey": "..."}`. */
const v2Client = perSecretValue((value): LivechatClient => {
  const secret = livechatSecretSchema.safeParse(value);
  if (!secret.success) throw new Error('the LiveChat secret must be JSON {"login": "...", "apiKey": "..."}');
  return createLivechatClient({ ...requestTuning, ...secret.data });
});

/** SOURCE v3.6: `{"accountId": "...", "token": "..."}` or `{"bearerToken": "..."}`. */
const v36Client = perSecretValue((value): ArchivesClient => {
  const secret = livechatV36SecretSchema.safeParse(value);
  if (!secret.success) {
    throw new Error(
      'the LiveChat v3.6 secret must be JSON {"accountId": "...", "token": "..."} or {"bearerToken": "..."}',
    );
  }
  const credentials: V36Credentials =
    'bearerToken' in secret.data
      ? { kind: 'bearer', token: secret.data.bearerToken }
      : { kind: 'pat', accountId: secret.data.accountId, token: secret.data.token };
  return createArchivesClient({ ...requestTuning, credentials, ...(config.REGION ? { region: config.REGION } : {}) });
});

/** JSON.parse's own error quotes the text it choked on, which here would be the secret. */
function parseSecretJson(value: unknown): unknown {
  if (typeof value !== 'string') throw new Error('the LiveChat secret must be a JSON string');
  try {
    return JSON.parse(value);
  } catch {
    throw new Error('the LiveChat secret is not JSON');
  }
}

/** Credentials come from Secrets Manager through Powertools Parameters, cached across invocations. */
async function sourceDeps(): Promise<Pick<QueuedTaskDeps, 'client' | 'archives'>> {
  const secret = parseSecretJson(await getSecret(config.SECRET_ID, { maxAge: SECRET_CACHE_SECONDS }));
  if (config.SOURCE === 'v3.6') {
    return { archives: { client: v36Client(secret), busyDayThreshold: config.BUSY_DAY_THRESHOLD } };
  }
  return { client: v2Client(secret) };
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
