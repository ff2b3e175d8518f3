import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { SqsTaskSender } from '#pipeline/sqs-task-sender.ts';
import { judgeDelivery, MAX_DELIVERY_BYTES, webhookSecretOf } from '#sources/v36/webhook-delivery.ts';
import { loadReceiverConfig } from './handler-config.ts';
import { logger, metrics } from './powertools.ts';
import { sharedSecret } from './secret-shapes.ts';

const config = loadReceiverConfig();
const sender = new SqsTaskSender(new SQSClient({}), config.QUEUE_URL, { maxAttempts: 2, baseDelayMs: 50 });
// Fetched once per cold start and kept 5 minutes: a re-registered webhook's new secret is seen soon.
const secret = sharedSecret(() => getSecret(config.WEBHOOK_SECRET_ID, { maxAge: 300 }), 300_000);

/** Per outcome of a delivery; the alarm WebhookRefusals watches WebhookRefused. */
const METRIC_OF = {
  accepted: 'WebhookAccepted',
  refused: 'WebhookRefused',
  ignored: 'WebhookIgnored',
  invalid: 'WebhookInvalid',
  'too-large': 'WebhookInvalid',
} as const;

/**
 * LiveChat's webhooks, behind the function URL: judge the delivery (webhook-delivery.ts), queue its
 * chat task on the worker's queue, answer at once. Holds no S3 permission; bounded by reserved concurrency.
 */
export const handler = async (event: LambdaFunctionURLEvent, context: Context): Promise<UrlAnswer> => {
  logger.addContext(context);
  try {
    if (event.requestContext.http.method !== 'POST') return answer(405, 'POST only');
    const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    // Judged unread past the cap: no secret fetch for a body that cannot be a delivery.
    const expected = body.byteLength > MAX_DELIVERY_BYTES ? '' : webhookSecretOf(String(await secret()));
    const verdict = judgeDelivery(body, expected, config.TIME_ZONE);
    if (verdict.task) await sender.send([verdict.task]);
    metrics.addMetric(METRIC_OF[verdict.outcome], MetricUnit.Count, 1);
    const line = { outcome: verdict.outcome, status: verdict.status, reason: verdict.reason };
    if (verdict.outcome === 'refused') logger.warn('webhook delivery refused', line);
    else logger.info('webhook delivery', { ...line, ...(verdict.task ? { threadId: verdict.task.threadId } : {}) });
    return answer(verdict.status, verdict.reason);
  } finally {
    metrics.publishStoredMetrics();
  }
};

interface UrlAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

function answer(statusCode: number, status: string): UrlAnswer {
  return { statusCode, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ status }) };
}
