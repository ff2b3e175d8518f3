import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One Logger and one Metrics per function instance; service and namespace come from POWERTOOLS_* variables. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'livechat-archiver' });

export const metrics = new Metrics({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'livechat-archiver',
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'LivechatArchiver',
});

/** Publishes what an invocation recorded; nothing (not even Powertools' "no metrics" warning) when it recorded nothing. */
export function flushMetrics(instance: Pick<Metrics, 'hasStoredMetrics' | 'publishStoredMetrics'> = metrics): void {
  if (instance.hasStoredMetrics()) instance.publishStoredMetrics();
}
