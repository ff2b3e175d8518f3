import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { type ApiLifecycleNotice, daysUntil, lifecycleWarning } from '#sources/api-lifecycle.ts';

export interface LifecycleReport {
  onLifecycle(notice: ApiLifecycleNotice): void;
  /** Call at the start of each invocation: the next notice is reported again. */
  newInvocation(): void;
}

/**
 * The worker's side of LiveChat's `Legacy` / `Deprecation` headers: one warning log line per
 * invocation (not per response), and the metric `ApiDaysLeft` (days until the stage ends),
 * which the `ApiRetirementNear` alarm watches.
 */
export function lifecycleReport(logger: Logger, metrics: Metrics, now = () => new Date()): LifecycleReport {
  let reported = false;
  return {
    onLifecycle(notice) {
      if (reported) return;
      reported = true;
      const daysLeft = notice.endsOn ? daysUntil(notice.endsOn, now()) : undefined;
      logger.warn(lifecycleWarning(notice, now()), { ...notice, ...(daysLeft === undefined ? {} : { daysLeft }) });
      if (daysLeft !== undefined) metrics.addMetric('ApiDaysLeft', MetricUnit.Count, daysLeft);
    },
    newInvocation() {
      reported = false;
    },
  };
}
