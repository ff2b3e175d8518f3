import path from 'node:path';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import type * as athena from 'aws-cdk-lib/aws-athena';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { acknowledgeWildcardResources, nagAttributeRef } from '#infra/nag.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';
import { COMPACTION_STAGING_PREFIX } from '#lake/athena-compaction-sql.ts';
import { SMALL_DAY_CHATS } from '#lake/compacted-columns.ts';
import { CHAT_FILES_PREFIX, COMPACTED_PREFIX } from '#lake/lake-layout.ts';
import { ERASURES_PREFIX } from '#privacy/erasure-records.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import { archiverFunction } from './archiver-functions.ts';
import { type ChatTableTier, COMPACTION_RESULTS_PREFIX } from './athena-lake.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export interface CompactionProps {
  readonly config: ArchiverConfig;
  readonly bucket: s3.IBucket;
  readonly resultsBucket: s3.IBucket;
  readonly workGroup: athena.CfnWorkGroup;
  readonly databaseName: string;
  /** The chat tables of the configured source, and chat_files when attachments are on. */
  readonly tiers: readonly ChatTableTier[];
}

/**
 * Compaction of settled days into Parquet on Athena (docs/compaction.md): a schedule after the
 * night starts a state machine that plans the days (the compactor function), runs one UNLOAD per
 * day and table on Athena and waits for it, then moves the Parquet files into place and deletes
 * the day's JSON (the compactor again).
 */
export class Compaction extends Construct {
  readonly compactor: ReturnType<typeof archiverFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: CompactionProps) {
    super(scope, id);
    const { config, bucket, workGroup, databaseName } = props;
    const stack = Stack.of(this);
    // chat_files (attachments on) is compacted with its day: one more table to read, write and delete.
    const tablePrefixes = [...SOURCE_INFO[config.source].prefixes, ...(config.attachments ? [CHAT_FILES_PREFIX] : [])];

    this.compactor = archiverFunction(this, 'Compactor', config, {
      entry: path.join(PROJECT_ROOT, 'functions/handlers/compactor.ts'),
      description: 'Plans the compaction of settled days, and moves each compacted day into place.',
      timeout: Duration.minutes(5),
      memorySize: 512,
      environment: {
        POWERTOOLS_SERVICE_NAME: config.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        BUCKET_NAME: bucket.bucketName,
        DATABASE: databaseName,
        TIME_ZONE: config.timeZone,
        LOOKBACK_DAYS: String(config.lookbackDays),
        SETTLE_HOURS: String(config.settleHours),
        MAX_DAYS: String(config.compactionMaxDays),
        SOURCE: config.source,
        MONTH_FILES: String(config.expectedChatsPerDay <= SMALL_DAY_CHATS),
        ...(config.retentionDays === undefined ? {} : { RETENTION_DAYS: String(config.retentionDays) }),
        CHAT_FILES: String(config.attachments),
      },
    });
    const compacted = tablePrefixes.map((prefix) => `${COMPACTED_PREFIX}${prefix}`);
    const staging = tablePrefixes.map((prefix) => `${COMPACTION_STAGING_PREFIX}${prefix}`);
    const objects = (prefixes: readonly string[]) => prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
    const compactorPolicy = [
      // What a day holds (JSON, compacted, staged) and whether an erase is running.
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: {
          StringLike: {
            's3:prefix': [...tablePrefixes, ...compacted, ...staging, ERASURES_PREFIX].map((prefix) => `${prefix}*`),
          },
        },
      }),
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects([...staging, ERASURES_PREFIX]) }),
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects(compacted) }),
      new iam.PolicyStatement({
        actions: ['s3:DeleteObject'],
        resources: objects([...tablePrefixes, ...compacted, ...staging]),
      }),
    ];
    for (const statement of compactorPolicy) this.compactor.addToRolePolicy(statement);
    acknowledgeWildcardResources(
      this.compactor.role ?? this.compactor,
      [...tablePrefixes, ...compacted, ...staging, ERASURES_PREFIX].map(
        (prefix) => `${nagAttributeRef(bucket)}/${prefix}*`,
      ),
      'The compactor reads staged Parquet files and erasure records, writes compacted days and deletes the JSON files they replace; keys are per day and known at run time, so access is scoped to these prefixes of the lake bucket.',
    );

    this.stateMachine = this.compactionStateMachine(config, workGroup.name);
    acknowledgeWildcardResources(
      this.stateMachine.role,
      [`${nagAttributeRef(this.compactor)}:*`],
      'Step Functions invokes the compactor function by ARN and may qualify it with a version; the grant is this one function.',
    );
    acknowledgeWildcardResources(
      this.stateMachine.role,
      ['*'],
      'X-Ray PutTraceSegments/PutTelemetryRecords/GetSampling* and the CloudWatch Logs delivery actions Step Functions needs for execution logging do not support resource-level permissions.',
    );
    this.grantAthena(props, tablePrefixes, compacted, staging);
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Compacts newly settled days into Parquet, after the nightly run',
      schedule: scheduler.ScheduleExpression.expression(config.compactionScheduleCron, TimeZone.of(config.timeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        role: this.scheduleRole(stack.account),
        retryAttempts: config.scheduleRetryAttempts,
        maxEventAge: Duration.minutes(config.scheduleMaxEventAgeMinutes),
      }),
    });
  }

  private scheduleRole(account: string): iam.IRole {
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
      description: 'Lets EventBridge Scheduler start the compaction state machine',
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachine.stateMachineArn] }),
    );
    return role.withoutPolicyUpdates();
  }

  private compactionStateMachine(config: ArchiverConfig, workGroupName: string): sfn.StateMachine {
    const invoke = (
      id: string,
      payload: Record<string, unknown>,
      resultSelector: Record<string, string>,
      resultPath: string,
    ) =>
      new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.compactor,
        payload: sfn.TaskInput.fromObject(payload),
        resultSelector,
        resultPath,
        retryOnServiceExceptions: true,
      });
    const plan = invoke('Plan', { action: 'plan' }, { 'days.$': '$.Payload.days' }, '$.plan');
    const prepare = invoke('Prepare', { action: 'prepare', 'day.$': '$.day' }, { 'prepared.$': '$.Payload' }, '$');
    // Athena's own integration waits for the query (.sync): no function sits idle while UNLOAD runs.
    const unload = new sfn.CustomState(this, 'Unload', {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(this).partition}:states:::athena:startQueryExecution.sync`,
        Parameters: { 'QueryString.$': '$.sql', WorkGroup: workGroupName },
        ResultPath: null,
      },
    });
    const unloads = new sfn.Map(this, 'Unloads', {
      itemsPath: '$.prepared.unloads',
      maxConcurrency: 1,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(unload);
    const commit = invoke(
      'Commit',
      { action: 'commit', 'prepared.$': '$.prepared' },
      { 'committed.$': '$.Payload' },
      '$',
    );
    const steps = prepare.next(
      new sfn.Choice(this, 'Compacted already?')
        .when(sfn.Condition.isPresent('$.prepared.skipped'), new sfn.Succeed(this, 'Nothing to do'))
        .otherwise(unloads.next(commit)),
    );
    // A day that fails anywhere runs again from Prepare, in a staging folder of its own: Step
    // Functions documents no error names for its Athena integration, and an UNLOAD retried in
    // place would meet the files a failed one left (docs/compaction.md, checked against documentation).
    const day = new sfn.Parallel(this, 'Day', { resultPath: sfn.JsonPath.DISCARD })
      .branch(steps)
      .addRetry({ errors: [sfn.Errors.ALL], interval: Duration.minutes(1), maxAttempts: 2, backoffRate: 2 });
    const days = new sfn.Map(this, 'Days', {
      itemsPath: '$.plan.days',
      itemSelector: { 'day.$': '$$.Map.Item.Value' },
      maxConcurrency: 2,
      resultPath: sfn.JsonPath.DISCARD,
    }).itemProcessor(day);
    const definition = plan.next(days);

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicyOf(config),
    });
    return new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Compacts newly settled days of the lake into Parquet (docs/compaction.md)',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.hours(6),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
  }

  /** What Athena needs to run the UNLOADs with the state machine's credentials: the workgroup, the tables, the files, the output. */
  private grantAthena(
    props: CompactionProps,
    tablePrefixes: readonly string[],
    compacted: readonly string[],
    staging: readonly string[],
  ): void {
    const { bucket, resultsBucket, workGroup, databaseName, tiers } = props;
    const stack = Stack.of(this);
    const role = this.stateMachine.role;
    const tableArns = tiers.flatMap((tier) =>
      [tier.json, tier.lines, tier.compacted, tier.compactedMonths].map((table) => table.tableArn),
    );
    const statements = [
      // As Step Functions documents for athena:startQueryExecution.sync: start, wait, stop; the data catalog.
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:StopQueryExecution',
          'athena:GetDataCatalog',
        ],
        resources: [
          stack.formatArn({ service: 'athena', resource: 'workgroup', resourceName: workGroup.name }),
          stack.formatArn({ service: 'athena', resource: 'datacatalog', resourceName: 'AwsDataCatalog' }),
        ],
      }),
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          ...tableArns,
        ],
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation'],
        resources: [bucket.bucketArn, resultsBucket.bucketArn],
      }),
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [...tablePrefixes, ...compacted, ...staging].map((p) => `${p}*`) } },
      }),
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [...tablePrefixes, ...compacted].map((prefix) => bucket.arnForObjects(`${prefix}*`)),
      }),
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: staging.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
      }),
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [resultsBucket.bucketArn] }),
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [resultsBucket.arnForObjects(`${COMPACTION_RESULTS_PREFIX}*`)],
      }),
    ];
    for (const statement of statements) role.addToPrincipalPolicy(statement);
    acknowledgeWildcardResources(
      role,
      [
        ...[...tablePrefixes, ...compacted, ...staging].map((prefix) => `${nagAttributeRef(bucket)}/${prefix}*`),
        `${nagAttributeRef(resultsBucket)}/${COMPACTION_RESULTS_PREFIX}*`,
      ],
      'Athena runs the compaction UNLOADs with the state machine role: it reads the day partitions of the chat tables (JSON and compacted), writes Parquet into the staging prefix and query metadata into the compaction results prefix; keys are per day and query, so access is scoped to these prefixes.',
    );
  }
}
