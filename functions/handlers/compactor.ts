import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { type CompactionSettings, commitDay, planCompaction, prepareDay } from '#pipeline/athena-compaction.ts';
import { parseCompactorEvent } from '#pipeline/compactor-event.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import { loadCompactorConfig } from './handler-config.ts';
import { logger, metrics } from './powertools.ts';

const config = loadCompactorConfig();
const sink = new S3Sink(new S3Client({}), config.BUCKET_NAME);
const settings: CompactionSettings = {
  prefixes: SOURCE_INFO[config.SOURCE].prefixes,
  database: config.DATABASE,
  bucket: config.BUCKET_NAME,
  timeZone: config.TIME_ZONE,
  lookbackDays: config.LOOKBACK_DAYS,
  settleHours: config.SETTLE_HOURS,
  maxDays: config.MAX_DAYS,
  monthFiles: config.MONTH_FILES === 'true',
  retentionDays: config.RETENTION_DAYS,
  chatFiles: config.CHAT_FILES === 'true',
};

/**
 * The compaction state machine's three Lambda steps (functions/pipeline/athena-compaction.ts):
 * plan the night's days, prepare a day's UNLOADs, commit a day once Athena wrote them.
 */
export const handler = async (event: unknown, context: Context) => {
  logger.addContext(context);
  try {
    const request = parseCompactorEvent(event);
    if (request.action === 'plan') {
      const plan = await planCompaction(sink, settings, new Date());
      logger.info('compaction planned', {
        days: plan.days.length,
        from: plan.days[0],
        to: plan.days.at(-1),
        notSettled: plan.notSettled,
        deferred: plan.deferred,
      });
      if (plan.deferred) metrics.addMetric('CompactionDeferred', MetricUnit.Count, 1);
      return plan;
    }
    if (request.action === 'prepare') return await prepareDay(sink, settings, request.day);
    const committed = await commitDay(sink, settings, request.prepared);
    logger.info('day compacted', { ...committed, written: committed.written.length });
    metrics.addMetric(committed.status === 'compacted' ? 'DaysCompacted' : 'CompactionDeferred', MetricUnit.Count, 1);
    return {
      day: committed.day,
      status: committed.status,
      written: committed.written.length,
      deleted: committed.deleted,
    };
  } finally {
    metrics.publishStoredMetrics();
  }
};
