import path from 'node:path';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  type BundlingOptions,
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { acknowledgeWildcardResources, nagAttributeRef } from '#infra/nag.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';
import {
  CHAT_FILES_PREFIX,
  compactedTablePrefix,
  FILE_PREFIXES,
  MANIFESTS_PREFIX,
  RUN_MANIFEST_PREFIXES,
  TIME_ZONE_RECORD_PREFIX,
} from '#lake/lake-layout.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import type { ApiCredentials } from './api-credentials.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** The configured source's chat table prefixes: the worker writes, replaces and deletes page files there. */
function chatPrefixes(config: ArchiverConfig): string[] {
  return [...SOURCE_INFO[config.source].prefixes];
}

/**
 * With attachments on, files/ (the bytes) and chat-files/ (their rows): written by files tasks,
 * rows read back (a stored file is not fetched again), and deleted only when a visitor is erased
 * while a files task runs. The bytes are never read.
 */
function filePrefixes(config: ArchiverConfig): string[] {
  return config.attachments ? [...FILE_PREFIXES] : [];
}

const ESM_REQUIRE_SHIM = "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);";

/** How both handlers are bundled (test/handlers/bundled-worker.test.ts builds the worker with these). */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_SHIM,
  minify: true,
  // Error class names are part of the log lines and the runbook (errorClass: LivechatAuthError):
  // every error class of the bundles sets its own name (test/codebase-habits.test.ts), so the
  // minifier may rename classes and functions (keeping every name cost 9-13 KB per bundle).
  keepNames: false,
  sourceMap: true,
  externalModules: ['@aws-sdk/*'],
  forceDockerBundling: false,
  logLevel: LogLevel.WARNING,
} as const satisfies BundlingOptions;

export interface ArchiverFunctionsProps {
  readonly config: ArchiverConfig;
  readonly bucket: s3.IBucket;
  readonly queue: sqs.IQueue;
  readonly failedRunQueue: sqs.IQueue;
  readonly credentials: ApiCredentials;
}

export class ArchiverFunctions extends Construct {
  readonly planner: NodejsFunction;
  readonly worker: NodejsFunction;
  readonly schedule: scheduler.Schedule;
  /** The schedule's own group, so its AWS/Scheduler metrics (target errors, drops) are this stack's alone. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /** Powertools variables every function of the stack gets. */
  readonly powertoolsEnvironment: Record<string, string>;
  /** The webhook receiver's handler (lib/constructs/webhook-receiver.ts makes it with nodeFunction). */
  readonly webhookEntry = path.join(PROJECT_ROOT, 'functions/handlers/webhook-receiver.ts');

  constructor(
    scope: Construct,
    id: string,
    { config, bucket, queue, failedRunQueue, credentials }: ArchiverFunctionsProps,
  ) {
    super(scope, id);
    const powertools = {
      POWERTOOLS_SERVICE_NAME: config.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: config.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.powertoolsEnvironment = powertools;

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
      // Asynchronous (schedule) invocations that fail every retry land in the failed-run queue.
      retryAttempts: 2,
      onFailure: { bind: () => ({ destination: failedRunQueue.queueArn }) },
    });
    // Only what the on-failure destination needs (SqsDestination would also grant GetQueueUrl and GetQueueAttributes).
    this.planner.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [failedRunQueue.queueArn] }),
    );
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
        ATTACHMENTS: config.attachments ? 'on' : 'off',
        ...(config.attachments
          ? {
              ATTACHMENT_HOSTS: config.attachmentHosts.join(','),
              MAX_ATTACHMENT_MB: String(config.maxAttachmentMb),
            }
          : {}),
      },
    });
    const chats = chatPrefixes(config);
    const records = [...RUN_MANIFEST_PREFIXES, ...SOURCE_INFO[config.source].recordPrefixes];
    const files = filePrefixes(config);
    for (const statement of workerStatements(bucket, credentials.policyArn, chats, records, files)) {
      this.worker.addToRolePolicy(statement);
    }
    // Follow-up tasks (a day's pages, a drift re-archive); the event source mapping grants the rest.
    this.worker.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    acknowledgeWildcardResources(
      this.worker.role ?? this.worker,
      [...chats, ...files, ...records, MANIFESTS_PREFIX].map((prefix) => `${nagAttributeRef(bucket)}/${prefix}*`),
      `The worker writes one object per chat page under ${chats.join(' and ')} (dt=<day>/ partitions)${files.length ? `, attachments under ${files.join(' and ')}` : ''} and run records under ${records.join(', ')}, and reads manifests/ (erasure records included, never written); keys are only known at run time, so access is scoped to these prefixes of the lake bucket.`,
    );
    // The mapping by hand, not SqsEventSource: its grant adds sqs:GetQueueUrl, which nothing calls.
    this.worker.addEventSourceMapping('PageQueueSource', {
      eventSourceArn: queue.queueArn,
      batchSize: config.batchSize,
      maxBatchingWindow: Duration.seconds(config.maxBatchingWindowSeconds),
      maxConcurrency: config.workerConcurrency,
      reportBatchItemFailures: true,
    });
    this.worker.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queue.queueArn],
      }),
    );

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup');
    this.schedule = this.nightlySchedule(config, failedRunQueue);
  }

  /** A function made as the planner and worker are: its own role and log group, ESM bundle, ARM, Node 24. */
  nodeFunction(id: string, config: ArchiverConfig, props: NodejsFunctionProps): NodejsFunction {
    return archiverFunction(this, id, config, props);
  }

  private nightlySchedule(config: ArchiverConfig, failedRunQueue: sqs.IQueue): scheduler.Schedule {
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
    role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [failedRunQueue.queueArn] }));
    return new scheduler.Schedule(this, 'NightlySchedule', {
      description: 'Nightly LiveChat archive run',
      scheduleGroup: this.scheduleGroup,
      schedule: scheduler.ScheduleExpression.expression(config.scheduleCron, TimeZone.of(config.timeZone)),
      timeWindow: scheduler.TimeWindow.off(),
      target: new LambdaInvoke(this.planner, {
        input: scheduler.ScheduleTargetInput.fromObject({ scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        role: role.withoutPolicyUpdates(),
        retryAttempts: config.scheduleRetryAttempts,
        maxEventAge: Duration.minutes(config.scheduleMaxEventAgeMinutes),
        deadLetterQueue: failedRunQueue,
      }),
    });
  }
}

function workerStatements(
  bucket: s3.IBucket,
  secretArn: string,
  chats: readonly string[],
  records: readonly string[],
  files: readonly string[],
): iam.PolicyStatement[] {
  const rows = files.filter((prefix) => prefix === CHAT_FILES_PREFIX);
  // A files task that meets a new erasure lists (never reads) the day's compacted chat files: it cannot
  // read Parquet, so a chat missing from the JSON may be there, and its files are kept (archive-files.ts).
  const compacted = files.length > 0 ? chats.map(compactedTablePrefix) : [];
  const objects = (prefixes: readonly string[]) => prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
  return [
    // Pass files and settled files are written and, once a day settles, its inputs deleted; run records
    // under manifests/ are only ever added or replaced, never deleted.
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: objects([...chats, ...files, ...records]) }),
    new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: objects([...chats, ...files]) }),
    // manifests/: drift claims, unit-done and settled markers, day plans, the time-zone and filters records,
    // erasure records and their salt (read only); chat tables: a settle task reads the day's partition.
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: objects([...chats, ...rows, MANIFESTS_PREFIX]) }),
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: {
        StringLike: { 's3:prefix': [...chats, ...compacted, ...files, MANIFESTS_PREFIX].map((prefix) => `${prefix}*`) },
      },
    }),
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
  ];
}

/** A Node.js 24 arm64 function of the archiver: its own log group and role, bundled with esbuild (ESM, minified, AWS SDK external). */
export function archiverFunction(
  scope: Construct,
  id: string,
  config: ArchiverConfig,
  props: NodejsFunctionProps,
): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: config.logRetentionDays as logs.RetentionDays,
    removalPolicy: removalPolicyOf(config),
  });
  const role = new iam.Role(scope, `${id}Role`, {
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
  return new NodejsFunction(scope, id, {
    ...props,
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    role,
    logGroup,
    tracing: config.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    bundling: LAMBDA_BUNDLING,
  });
}
