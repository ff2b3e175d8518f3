import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { type CheckResult, checklistLine, type DoctorReport } from '#doctor/check-result.ts';
import { runDoctor } from '#doctor/run-doctor.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { SourceName } from '#sources/source-registry.ts';
import { webhookSecretOf } from '#sources/v36/webhook-delivery.ts';
import { doctorCredentials } from './secret-shapes.ts';

/** What the planner's configuration tells the checks. */
export interface NightlyDoctorConfig {
  SOURCE: SourceName;
  API_URL: string;
  REGION?: string | undefined;
  TIME_ZONE: string;
  LOOKBACK_DAYS: number;
  BUSY_DAY_THRESHOLD: number;
  FILTERS: ChatFilters;
  BUCKET_NAME?: string | undefined;
  WEBHOOK_URL?: string | undefined;
  WEBHOOK_SECRET_ID?: string | undefined;
  WEBHOOK_OWNER_CLIENT_ID?: string | undefined;
}

/** A check failed: the night stops before anything is queued (the PlannerErrors alarm sees it). */
export class DoctorCheckFailedError extends Error {
  override name = 'DoctorCheckFailedError';
}

const LOG_LEVEL = { ok: 'info', warning: 'warn', failed: 'error' } as const;

/**
 * The doctor's checks (functions/doctor/) as the planner runs them: credentials from the secret,
 * the lake bucket read (never written), one JSON log line per check, and the metrics
 * `DoctorChecksFailed` and (credentials refused) `AuthFailures`. Requests are short: the planner has a minute.
 */
export function nightlyDoctor(
  config: NightlyDoctorConfig,
  deps: {
    s3: S3Client;
    logger: Logger;
    metrics: Metrics;
    /** Reads a Secrets Manager secret (the planner: Powertools getSecret, cached): for WEBHOOK_SECRET_ID. */
    readSecret?: (secretId: string) => Promise<unknown>;
    /** The webhook receiver's secret_key; default: WEBHOOK_SECRET_ID through readSecret (plain, or {"secretKey"}). */
    webhookSecret?: () => Promise<string | undefined>;
    tuning?: RetryingApiTuning;
    now?: () => Date;
  },
) {
  const lake = config.BUCKET_NAME ? { lake: { sink: new S3Sink(deps.s3, config.BUCKET_NAME) } } : {};
  const { readSecret } = deps;
  const secretId = config.WEBHOOK_SECRET_ID;
  const webhookSecret =
    deps.webhookSecret ??
    (readSecret && secretId ? async () => webhookSecretOf(String(await readSecret(secretId))) : undefined);
  return async (secretText: unknown, backfillFrom?: string): Promise<DoctorReport> => {
    let secretSource = 'the secret WebhookSecretArn';
    const secretKey = config.WEBHOOK_URL
      ? await webhookSecret?.().catch((error: unknown) => {
          secretSource = `the secret WebhookSecretArn could not be read: ${error instanceof Error ? error.name : 'error'}`;
          return undefined;
        })
      : undefined;
    const webhooks = config.WEBHOOK_URL
      ? {
          webhooks: {
            receiverUrl: config.WEBHOOK_URL,
            ownerClientId: config.WEBHOOK_OWNER_CLIENT_ID,
            secretKey,
            secretSource,
            ...(config.WEBHOOK_SECRET_ID ? { secretId: config.WEBHOOK_SECRET_ID } : {}),
            // A Lambda function URL: every path reaches the receiver.
            anyPath: true,
          },
        }
      : {};
    const report = await runDoctor({
      credentials: doctorCredentials(config.SOURCE, secretText),
      apiUrl: config.API_URL,
      ...(config.REGION ? { region: config.REGION } : {}),
      timeZone: config.TIME_ZONE,
      filters: config.FILTERS,
      lookbackDays: config.LOOKBACK_DAYS,
      busyDayThreshold: config.BUSY_DAY_THRESHOLD,
      ...(backfillFrom ? { backfillFrom } : {}),
      ...lake,
      ...webhooks,
      unattended: true,
      tuning: { timeoutMs: 6_000, totalTimeoutMs: 12_000, retryLimit: 2, ...deps.tuning },
      ...(deps.now ? { now: deps.now } : {}),
    });
    for (const result of report.results) deps.logger[LOG_LEVEL[result.status]]('doctor check', { ...result });
    const failures = report.results.filter((result) => result.status === 'failed');
    deps.metrics.addMetric('DoctorChecksFailed', MetricUnit.Count, failures.length);
    // The LivechatAuthFailed alarm: credentials LiveChat refused are found here, before any task is queued.
    if (report.verdict === 'refused') deps.metrics.addMetric('AuthFailures', MetricUnit.Count, 1);
    // The WebhookNotRegistered alarm: the night goes on (it archives what webhooks miss), so this metric tells.
    if (config.WEBHOOK_URL) {
      const webhookFailed = failures.some((result) => result.check === 'webhooks');
      deps.metrics.addMetric('WebhookCheckFailed', MetricUnit.Count, webhookFailed ? 1 : 0);
    }
    return report;
  };
}

/** `{"doctor": true}`: run the checks alone, plan nothing. */
export function isDoctorRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { doctor?: unknown }).doctor === true;
}

/**
 * Stops the night on the first failed check, with the doctor's line. Not for `webhooks`: the night
 * is what archives the chats a missing webhook does not deliver (alarm WebhookNotRegistered instead).
 */
export function stopOnFailedCheck(report: DoctorReport): void {
  const failure: CheckResult | undefined = report.results.find(
    (result) => result.status === 'failed' && result.check !== 'webhooks',
  );
  if (failure) throw new DoctorCheckFailedError(`doctor: ${checklistLine(failure)}`);
}
