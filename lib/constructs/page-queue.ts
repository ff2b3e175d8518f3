import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';

export const VISIBILITY_TO_TIMEOUT_RATIO = 6;

/** How long a task waits in the dead-letter queue, counted from when it was first queued (SQS standard queues). */
export const DEAD_LETTER_RETENTION_DAYS = 14;

export class PageQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Nightly invokes the schedule could not deliver, and planner invocations that failed every retry. */
  readonly failedRunQueue: sqs.Queue;

  constructor(scope: Construct, id: string, config: ArchiverConfig) {
    super(scope, id);
    const secured = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    } satisfies sqs.QueueProps;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...secured,
      retentionPeriod: Duration.days(DEAD_LETTER_RETENTION_DAYS),
    });
    this.failedRunQueue = new sqs.Queue(this, 'FailedRunQueue', {
      ...secured,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failedRunQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'The failed-run queue is itself a dead-letter queue (of the schedule target and of the planner on-failure destination); nothing consumes it, an operator reads it (runbook FailedRunQueueNotEmpty).',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...secured,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: Duration.seconds(
        VISIBILITY_TO_TIMEOUT_RATIO * config.workerTimeoutSeconds + config.maxBatchingWindowSeconds,
      ),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.maxReceiveCount },
    });
  }
}
