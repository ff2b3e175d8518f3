import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';

export const VISIBILITY_TO_TIMEOUT_RATIO = 6;

export class PageQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, config: ArchiverConfig) {
    super(scope, id);
    const secured = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
    } satisfies sqs.QueueProps;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...secured,
      retentionPeriod: Duration.days(14),
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
