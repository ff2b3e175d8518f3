import path from 'node:path';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { acknowledgeWildcardResources, nagAttributeRef } from '#infra/nag.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';
import { MANIFESTS_PREFIX, TIME_ZONE_RECORD_PREFIX } from '#lake/lake-layout.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import type { ApiCredentials } from './api-credentials.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** What the worker may write: the configured source's table prefixes and the manifests. */
function writablePrefixes(config: ArchiverConfig): string[] {
  return [...SOURCE_INFO[config.source].prefixes, MANIFESTS_PREFIX];
}

const ESM_REQUIRE_SHIM = "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);";

export interface ArchiverFunctionsProps {
  readonly config: ArchiverConfig;
  readonly bucket: s3.IBucket;
  readonly queue: sqs.IQueue;
  readonly credentials: ApiCredentials;
}

export class ArchiverFunctions extends Construct {
  readonly planner: NodejsFunction;
  readonly worker: NodejsFunction;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, { config, bucket, queue, credentials }: ArchiverFunctionsProps) {
    super(scope, id);
    const powertools = {
      POWERTOOLS_SERVICE_NAME: config.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };

    this.planner = this.nodeFunction('Planner', config, {
      entry: path.join(PROJECT_ROOT, 'functions/handlers/planner.ts'),
      description: 'Plans the days to archive and enqueues one day task per day.',
      timeout: Duration.seconds(config.plannerTimeoutSeconds),
      memorySize: config.plannerMemoryMb,
      environment: {
        ...powertools,
        QUEUE_URL: queue.queueUrl,
        TIME_ZONE: config.timeZone,
        LOOKBACK_DAYS: String(config.lookbackDays),
        SETTLE_HOURS: String(config.settleHours),
        MAX_RANGE_DAYS: String(config.maxRangeDays),
        FILTERS: JSON.stringify(config.filters),
        SOURCE: config.source,
        PROJECTION_START: config.projectionStart,
        SECRET_ID: credentials.secret.secretArn,
        // The doctor's checks before each run (docs/doctor.md): the API as the worker reads it, and the lake (listed only).
        API_URL: config.apiUrl,
        BUCKET_NAME: bucket.bucketName,
        ...(config.source === 'v3.6' ? { BUSY_DAY_THRESHOLD: String(config.busyDayThreshold) } : {}),
        ...(config.region ? { REGION: config.region } : {}),
      },
    });
    this.planner.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    // To check the secret is filled in and LiveChat accepts it (the doctor's checks) before a run is queued.
    this.planner.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [credentials.policyArn] }),
    );
    // The doctor's lake check lists the lake's time-zone records, and nothing else: it never reads or writes an object.
    this.planner.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringEquals: { 's3:prefix': TIME_ZONE_RECORD_PREFIX } },
      }),
    );

    this.worker = this.nodeFunction('Worker', config, {
      entry: path.join(PROJECT_ROOT, 'functions/handlers/worker.ts'),
      description: 'Archives LiveChat chat pages from the page queue into the lake bucket.',
      timeout: Duration.seconds(config.workerTimeoutSeconds),
      memorySize: config.workerMemoryMb,
      environment: {
        ...powertools,
        BUCKET_NAME: bucket.bucketName,
        QUEUE_URL: queue.queueUrl,
        SECRET_ID: credentials.secret.secretArn,
        API_URL: config.apiUrl,
        MAX_ATTEMPTS: String(config.maxAttempts),
        REQUEST_TIMEOUT_MS: String(config.requestTimeoutMs),
        REQUEST_BUDGET_MS: String(Math.floor(config.workerTimeoutSeconds * 1000 * 0.75)),
        SOURCE: config.source,
        ...(config.source === 'v3.6'
          ? {
              BUSY_DAY_THRESHOLD: String(config.busyDayThreshold),
              SLICE_PAGES_PER_TASK: String(config.slicePagesPerTask),
            }
          : {}),
        ...(config.region ? { REGION: config.region } : {}),
        ...(config.redact ? { REDACT: JSON.stringify(config.redact) } : {}),
      },
    });
    const writable = writablePrefixes(config);
    for (const statement of workerStatements(bucket, credentials.policyArn, writable)) {
      this.worker.addToRolePolicy(statement);
    }
    acknowledgeWildcardResources(
      this.worker.role ?? this.worker,
      writable.map((prefix) => `${nagAttributeRef(bucket)}/${prefix}*`),
      `The worker writes one object per chat page under ${writable.slice(0, -1).join(' and ')} (dt=<day>/ partitions) and run manifests under manifests/; keys are only known at run time, so access is scoped to these prefixes of the lake bucket.`,
    );
    queue.grantSendMessages(this.worker);
    this.worker.addEventSource(
      new SqsEventSource(queue, {
        batchSize: config.batchSize,
        maxBatchingWindow: Duration.seconds(config.maxBatchingWindowSeconds),
        maxConcurrency: config.workerConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    this.schedule = this.nightlySchedule(config);
  }

  private nodeFunction(id: string, config: ArchiverConfig, props: NodejsFunctionProps): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicyOf(config),
    });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${id.toLowerCase()} function`,
    });
    logGroup.grantWrite(role);
    if (config.tracing) {
      acknowledgeWildcardResources(
        role,
        ['*'],
        'X-Ray PutTraceSegments and PutTelemetryRecords do not support resource-level permissions; added only when tracing is on.',
      );
    }
    return new NodejsFunction(this, id, {
      ...props,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      role,
      logGroup,
      tracing: config.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
  }

  private nightlySchedule(config: ArchiverConfig): scheduler.Schedule {
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Lets EventBridge Scheduler invoke the planner function',
    });
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.planner.functionArn] }),
    );
    return new scheduler.Schedule(this, 'NightlySchedule', {
      description: 'Nightly LiveChat archive run',
      schedule: scheduler.ScheduleExpression.expression(config.scheduleCron, TimeZone.of(config.timeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new LambdaInvoke(this.planner, {
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        role: role.withoutPolicyUpdates(),
        retryAttempts: config.scheduleRetryAttempts,
        maxEventAge: Duration.minutes(config.scheduleMaxEventAgeMinutes),
      }),
    });
  }
}

function workerStatements(bucket: s3.IBucket, secretArn: string, writable: readonly string[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:DeleteObject'],
      resources: writable.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }),
    // manifests/: drift claims, unit-done markers, day plans and erasure records; chat tables: a settle
    // task reads the day's partition to merge it into one version per chat.
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: writable.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }),
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': writable.map((prefix) => `${prefix}*`) } },
    }),
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
  ];
}
