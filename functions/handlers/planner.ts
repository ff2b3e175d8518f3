import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { parseRunRequest, planRun } from '#pipeline/run-planner.ts';
import { SqsTaskSender } from '#pipeline/sqs-task-sender.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import { loadPlannerConfig } from './handler-config.ts';
import { isDoctorRequest, nightlyDoctor, stopOnFailedCheck } from './nightly-doctor.ts';
import { flushMetrics, logger, metrics } from './powertools.ts';
import { checkSecret, sharedSecret } from './secret-shapes.ts';

const config = loadPlannerConfig();
const sender = new SqsTaskSender(new SQSClient({}), config.QUEUE_URL);
const readSecret = (secretId: string) => getSecret(secretId, { maxAge: 300 });
const secret = sharedSecret(() => readSecret(config.SECRET_ID), 300_000);
const doctor = nightlyDoctor(config, { s3: new S3Client({}), logger, metrics, readSecret });

/**
 * Plans a run (nightly schedule or backfill by hand) and queues one day task per
 * day; workers plan each day's pages from there, so a long backfill stays small here.
 */
export const handler = async (event: unknown, context: Context) => {
  logger.addContext(context);
  try {
    if (isDoctorRequest(event)) {
      const report = await doctor(await secret());
      return { doctor: report.verdict, checks: report.results };
    }
    const request = parseRunRequest(event);
    const plan = planRun(request, {
      timeZone: config.TIME_ZONE,
      settleHours: config.SETTLE_HOURS,
      lookbackDays: config.LOOKBACK_DAYS,
      maxRangeDays: config.MAX_RANGE_DAYS,
      defaultFilters: config.FILTERS,
      fallbackRunId: `manual-${context.awsRequestId}`,
      projectionStart: config.PROJECTION_START,
    });
    SOURCE_INFO[config.SOURCE].checkFilters(plan.dayTasks[0]?.filters ?? {});
    // Right after deploy the secret holds a generated value: refuse here (PlannerErrors alarm), not in every task.
    checkSecret(config.SOURCE, await secret());
    // The doctor's checks (docs/doctor.md): a failed one stops the run before anything is queued.
    stopOnFailedCheck(await doctor(await secret(), 'from' in request ? plan.days[0] : undefined));
    const report = await sender.send(plan.dayTasks);
    logger.info('run planned', {
      runId: plan.runId,
      from: plan.days[0],
      to: plan.days.at(-1),
      days: plan.days.length,
      ...report,
    });
    metrics.addMetric('DaysPlanned', MetricUnit.Count, plan.days.length);
    return { runId: plan.runId, days: plan.days.length, ...report };
  } finally {
    flushMetrics();
  }
};
