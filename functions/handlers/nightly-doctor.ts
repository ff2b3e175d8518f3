import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { type CheckResult, checklistLine, type DoctorReport } from '#doctor/check-result.ts';
import { runDoctor } from '#doctor/run-doctor.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { SourceName } from '#sources/source-registry.ts';
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
  deps: { s3: S3Client; logger: Logger; metrics: Metrics; tuning?: RetryingApiTuning; now?: () => Date },
) {
  const lake = config.BUCKET_NAME ? { lake: { sink: new S3Sink(deps.s3, config.BUCKET_NAME) } } : {};
  return async (secretText: unknown, backfillFrom?: string): Promise<DoctorReport> => {
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
      unattended: true,
      tuning: { timeoutMs: 6_000, totalTimeoutMs: 12_000, retryLimit: 2, ...deps.tuning },
      ...(deps.now ? { now: deps.now } : {}),
    });
    for (const result of report.results) deps.logger[LOG_LEVEL[result.status]]('doctor check', { ...result });
    const failures = report.results.filter((result) => result.status === 'failed');
    deps.metrics.addMetric('DoctorChecksFailed', MetricUnit.Count, failures.length);
    // The LivechatAuthFailed alarm: credentials LiveChat refused are found here, before any task is queued.
    if (report.verdict === 'refused') deps.metrics.addMetric('AuthFailures', MetricUnit.Count, 1);
    return report;
  };
}

/** `{"doctor": true}`: run the checks alone, plan nothing. */
export function isDoctorRequest(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { doctor?: unknown }).doctor === true;
}

/** Stops the night on the first failed check, with the doctor's line. */
export function stopOnFailedCheck(report: DoctorReport): void {
  const failure: CheckResult | undefined = report.results.find((result) => result.status === 'failed');
  if (failure) throw new DoctorCheckFailedError(`doctor: ${checklistLine(failure)}`);
}
