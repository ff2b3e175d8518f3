import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { SqsTaskSender } from '#pipeline/sqs-task-sender.ts';
import type { RetryEvent } from '#sources/retrying-api.ts';
import { lifecycleReport } from './api-lifecycle-report.ts';
import { sourceFromSecret } from './credentials.ts';
import { fileArchivingOf, loadWorkerConfig } from './handler-config.ts';
import { flushMetrics, logger, metrics } from './powertools.ts';
import { queuedRecordHandler } from './queued-record.ts';
import { sharedSecret } from './secret-shapes.ts';

const config = loadWorkerConfig();
const processor = new BatchProcessor(EventType.SQS);
const sink = new S3Sink(new S3Client({}), config.BUCKET_NAME);
// Page batches rarely send anything: the SQS client is loaded when a task first has follow-up work.
const sender = new SqsTaskSender(async () => new (await import('@aws-sdk/client-sqs')).SQSClient({}), config.QUEUE_URL);
const files = fileArchivingOf(config);
const taskDeps = { sink, sender, maxAttempts: config.MAX_ATTEMPTS, redaction: config.REDACT, files };

function onRetry(retry: RetryEvent): void {
  metrics.addMetric(retry.reason === 'rate-limited' ? 'RateLimited' : 'Retries', MetricUnit.Count, 1);
  logger.warn('retrying LiveChat request', { ...retry });
}

const lifecycle = lifecycleReport(logger, metrics);
const sourceOf = sourceFromSecret(config, {
  apiUrl: config.API_URL,
  timeoutMs: config.REQUEST_TIMEOUT_MS,
  totalTimeoutMs: config.REQUEST_BUDGET_MS,
  onRetry,
  onLifecycle: lifecycle.onLifecycle,
});

const recordHandler = queuedRecordHandler({
  // One fetch per cold start serves the whole batch; kept 5 minutes, so a rotated secret is seen soon.
  secret: sharedSecret(() => getSecret(config.SECRET_ID, { maxAge: 300 }), 300_000),
  sourceOf,
  task: taskDeps,
  logger,
  metrics,
  // A request started before the hand-off ends within its budget, leaving 5 s to write and queue the rest.
  handOffReserveMs: config.REQUEST_BUDGET_MS + 5_000,
});

/** SQS batch with partial failures: a bad or failing record is retried (then dead-lettered) alone. */
export const handler = async (event: SQSEvent, context: Context) => {
  logger.addContext(context);
  lifecycle.newInvocation();
  try {
    return await processPartialResponse(event, recordHandler, processor, { context });
  } finally {
    flushMetrics();
  }
};
