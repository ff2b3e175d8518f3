import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CHAT_FILES_TABLE } from '#lake/chat-files-table.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import type { ArchiverConfig } from './config.ts';
import { AccessLogBucket } from './constructs/access-log-bucket.ts';
import { ApiCredentials } from './constructs/api-credentials.ts';
import { ArchiverFunctions } from './constructs/archiver-functions.ts';
import { AthenaLake } from './constructs/athena-lake.ts';
import { Compaction } from './constructs/compaction.ts';
import { LakeBucket } from './constructs/lake-bucket.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { PageQueue } from './constructs/page-queue.ts';
import { WebhookReceiver } from './constructs/webhook-receiver.ts';

export interface ArchiverStackProps extends StackProps {
  readonly config: ArchiverConfig;
}

export class ArchiverStack extends Stack {
  readonly lake: LakeBucket;
  readonly pages: PageQueue;
  readonly credentials: ApiCredentials;
  readonly functions: ArchiverFunctions;
  readonly monitoring: Monitoring;
  readonly athena: AthenaLake;
  /** With `webhooks: true` (source v3.6): the chat_deactivated receiver behind a function URL. */
  readonly webhooks?: WebhookReceiver;
  readonly compaction: Compaction;

  constructor(scope: Construct, id: string, props: ArchiverStackProps) {
    super(scope, id, props);
    const { config } = props;

    const accessLogs = new AccessLogBucket(this, 'AccessLogs', config);
    this.lake = new LakeBucket(this, 'Lake', { config, accessLogs: accessLogs.bucket });
    this.pages = new PageQueue(this, 'PageQueue', config);
    this.credentials = new ApiCredentials(this, 'ApiCredentials', config);
    this.functions = new ArchiverFunctions(this, 'Functions', {
      config,
      bucket: this.lake.bucket,
      queue: this.pages.queue,
      failedRunQueue: this.pages.failedRunQueue,
      credentials: this.credentials,
    });
    this.athena = new AthenaLake(this, 'Athena', { config, bucket: this.lake.bucket, accessLogs: accessLogs.bucket });
    this.compaction = new Compaction(this, 'Compaction', {
      config,
      bucket: this.lake.bucket,
      resultsBucket: this.athena.resultsBucket,
      workGroup: this.athena.compactionWorkGroup,
      databaseName: this.athena.database.databaseName,
      tiers: [
        ...SOURCE_INFO[config.source].tables.map((table) => this.athena.tiers[table]!),
        ...(config.attachments ? [this.athena.tiers[CHAT_FILES_TABLE]!] : []),
      ],
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      planner: this.functions.planner,
      worker: this.functions.worker,
      queue: this.pages.queue,
      deadLetterQueue: this.pages.deadLetterQueue,
      failedRunQueue: this.pages.failedRunQueue,
      scheduleGroup: this.functions.scheduleGroup,
      completenessQuery: this.athena.dayCompletenessQuery,
      compaction: this.compaction.stateMachine,
    });

    if (config.webhooks) {
      this.webhooks = new WebhookReceiver(this, 'Webhooks', {
        config,
        queue: this.pages.queue,
        planner: this.functions.planner,
        topic: this.monitoring.topic,
        nodeFunction: (id, functionProps) => this.functions.nodeFunction(id, config, functionProps),
        entry: this.functions.webhookEntry,
        environment: this.functions.powertoolsEnvironment,
      });
      this.monitoring.dashboard.addWidgets(...this.webhooks.dashboardWidgets);
      // The dashboard's alarm status widget lists its alarms when the template is rendered.
      this.monitoring.alarms.push(this.webhooks.refusalsAlarm, this.webhooks.registrationAlarm);
      new CfnOutput(this, 'WebhookUrl', { value: this.webhooks.url.url });
      new CfnOutput(this, 'WebhookSecretArn', { value: this.webhooks.secret.secretArn });
      new CfnOutput(this, 'WebhookReceiverFunctionName', { value: this.webhooks.function.functionName });
    }

    new CfnOutput(this, 'LakeBucketName', { value: this.lake.bucket.bucketName });
    new CfnOutput(this, 'PageQueueUrl', { value: this.pages.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.pages.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { value: this.pages.deadLetterQueue.queueArn });
    new CfnOutput(this, 'PageQueueArn', { value: this.pages.queue.queueArn });
    new CfnOutput(this, 'FailedRunQueueUrl', { value: this.pages.failedRunQueue.queueUrl });
    new CfnOutput(this, 'ApiSecretArn', { value: this.credentials.secret.secretArn });
    new CfnOutput(this, 'PlannerFunctionName', { value: this.functions.planner.functionName });
    new CfnOutput(this, 'WorkerFunctionName', { value: this.functions.worker.functionName });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'GlueDatabaseName', { value: this.athena.database.databaseName });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: this.athena.workGroup.ref });
    new CfnOutput(this, 'CompactionStateMachineArn', { value: this.compaction.stateMachine.stateMachineArn });
    new CfnOutput(this, 'DayCompletenessQueryId', { value: this.athena.dayCompletenessQuery.attrNamedQueryId });
  }
}
