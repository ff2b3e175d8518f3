import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { handleQueuedTask, type QueuedTaskDeps } from '#pipeline/queued-task-handler.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { describeFailedTask, withoutSecrets } from '#pipeline/task-failure.ts';
import { decodeQueuedTask } from '#shared/archive-task.ts';
import { LivechatAuthError } from '#shared/errors.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import { secretValues } from './secret-shapes.ts';

export interface QueuedRecordDeps {
  /** The secret's text; one fetch shared by the batch (secret-shapes.ts sharedSecret). */
  secret: () => Promise<unknown>;
  sourceOf: (secretText: unknown) => ArchiveSource;
  task: Omit<QueuedTaskDeps, 'source'>;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  metrics: Pick<Metrics, 'addMetric'>;
  /**
   * Time a task keeps back from its invocation's remaining time: it starts no API request later
   * than that before the Lambda timeout, and hands the rest of its unit to a next task.
   */
  handOffReserveMs?: number;
}

/** What the record handler reads of the Lambda context. */
export interface InvocationTime {
  getRemainingTimeInMillis(): number;
}

/**
 * One SQS record of the worker: decode, run, publish the result's metrics and log line. A
 * record that fails logs one line (task, error class and message, never a credential) and
 * rethrows, so the batch reports it as a partial failure.
 */
export function queuedRecordHandler(
  deps: QueuedRecordDeps,
): (record: SQSRecord, invocation?: InvocationTime) => Promise<void> {
  return async (record, invocation) => {
    let secretText: unknown;
    try {
      const task = decodeQueuedTask(record.body);
      const now = deps.task.now ?? (() => new Date());
      const deadline = invocation
        ? { deadline: now().getTime() + invocation.getRemainingTimeInMillis() - (deps.handOffReserveMs ?? 0) }
        : {};
      secretText = await deps.secret();
      const result = await handleQueuedTask(task, { ...deps.task, ...deadline, source: deps.sourceOf(secretText) });
      const report = reportOf(result);
      for (const [name, value] of Object.entries(report.counts)) {
        deps.metrics.addMetric(name, name.endsWith('Seconds') ? MetricUnit.Seconds : MetricUnit.Count, value);
      }
      const where = task.kind === 'chat' ? { threadId: task.threadId } : { attempt: task.attempt };
      deps.logger[report.level](report.message, { runId: task.runId, ...where, ...result });
    } catch (error) {
      if (error instanceof LivechatAuthError) deps.metrics.addMetric('AuthFailures', MetricUnit.Count, 1);
      deps.logger.error(
        'task failed',
        withoutSecrets(describeFailedTask(record.body, error), secretValues(secretText)),
      );
      throw error;
    }
  };
}
