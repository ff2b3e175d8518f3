import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import type { ArchiverStack } from '#infra/archiver-stack.ts';
import { CONTEXT_KEY } from '#infra/config.ts';
import { passRecordExpirationDays } from '#infra/constructs/lake-bucket.ts';
import { CHAT_COLUMNS, CHATS_PREFIX, JSON_SERDE, LAKE_TABLE, PARTITION_KEYS, toColumn } from '#lake/chat-columns.ts';
import { DAY_PLAN_COLUMNS, DAY_PLANS_TABLE } from '#lake/day-plan-table.ts';
import { EXPIRED_DAY_COLUMNS, EXPIRED_DAYS_TABLE } from '#lake/expired-days-table.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';
import { ARCHIVES_PREFIX, THREAD_SCHEMA, THREADS_TABLE } from '#lake/thread-columns.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';
import { logicalId, synthStack } from '#test/support/synth-stack.ts';

const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
const arn = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });
const objectsArn = (construct: IConstruct, pattern: string) => ({ 'Fn::Join': ['', [arn(construct), `/${pattern}`]] });

function resourceOf(
  template: Template,
  type: string,
  id: string,
): { Properties: Record<string, any> } & Record<string, any> {
  const resource = template.toJSON().Resources[id];
  expect(resource?.Type, id).toBe(type);
  return resource;
}

/** Every (action, resource, condition) a role's inline policies allow, as sorted JSON tuples. */
function grantsOf(template: Template, role: IConstruct): string[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(ref(role))),
  );
  return policies
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as any[])
    .flatMap((statement) => {
      expect(statement.Effect).toBe('Allow');
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat();
      return actions.flatMap((action) =>
        resources.map((resource) => JSON.stringify([action, resource, statement.Condition ?? null])),
      );
    })
    .sort();
}

const grants = (...tuples: [string, unknown, unknown?][]) =>
  tuples.map(([action, resource, condition]) => JSON.stringify([action, resource, condition ?? null])).sort();

describe('archiver stack with default config', () => {
  let stack: ArchiverStack;
  let template: Template;
  let assemblyDir: string;

  beforeAll(() => {
    ({ stack, template, assemblyDir } = synthStack());
  });

  describe('lake bucket', () => {
    it('is private, encrypted, versioned, logged and retained', () => {
      const bucket = resourceOf(template, 'AWS::S3::Bucket', logicalId(stack.lake.bucket));
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
      expect(bucket.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: expect.stringMatching(/^AccessLogsBucket/) },
          LogFilePrefix: 'lake/',
        },
      });
      expect(bucket.Properties.BucketName).toBeUndefined();
    });

    it('expires noncurrent versions and does not tier by default', () => {
      const rules = resourceOf(template, 'AWS::S3::Bucket', logicalId(stack.lake.bucket)).Properties
        .LifecycleConfiguration.Rules;
      expect(rules).toContainEqual(
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 90 }, Status: 'Enabled' }),
      );
      expect(JSON.stringify(rules)).not.toContain('INTELLIGENT_TIERING');
      // No retention by default: only the bookkeeping of finished passes and merges, and what a
      // failed compaction left in its staging prefix, expire.
      expect(rules.filter((rule: any) => rule.ExpirationInDays !== undefined)).toEqual([
        ...['passes', 'settled', 'slice-reads', 'day-merges', 'drift-claims'].map((name) => ({
          Id: `expire-${name}-records`,
          Prefix: `manifests/${name}/`,
          ExpirationInDays: 30,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          Status: 'Enabled',
        })),
        expect.objectContaining({
          Id: 'expire-compaction-staging',
          Prefix: 'compaction-staging/',
          ExpirationInDays: 2,
        }),
      ]);
    });

    it('keeps the records of passes and merges longer than a task can wait in the dead-letter queue and than the lookback', () => {
      const dlqRetention = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.deadLetterQueue)).Properties
        .MessageRetentionPeriod as number;
      const rules = resourceOf(template, 'AWS::S3::Bucket', logicalId(stack.lake.bucket)).Properties
        .LifecycleConfiguration.Rules as Array<{ Id: string; ExpirationInDays?: number }>;
      const records = rules.filter((rule) => rule.Id.endsWith('-records'));
      expect(records).toHaveLength(5);
      // A redrive in the week after the last dead-lettered task expired still finds its pass's records.
      for (const rule of records) expect(rule.ExpirationInDays! * 86_400).toBeGreaterThan(dlqRetention + 7 * 86_400);
      // A day archived again each night of a long lookback keeps its records past its last night.
      expect(passRecordExpirationDays({ lookbackDays: 40 })).toBe(43);
    });

    it('writes access logs to a separate private bucket that does not log itself', () => {
      const logs = Object.entries(template.findResources('AWS::S3::Bucket')).filter(([id]) =>
        id.startsWith('AccessLogsBucket'),
      );
      expect(logs).toHaveLength(1);
      const [, accessLogs] = logs[0]!;
      expect(accessLogs.Properties.LoggingConfiguration).toBeUndefined();
      expect(accessLogs.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
      expect(accessLogs.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    });

    it('denies plain HTTP on every bucket', () => {
      const buckets = Object.keys(template.findResources('AWS::S3::Bucket'));
      expect(buckets).toHaveLength(3);
      for (const bucket of buckets) {
        template.hasResourceProperties('AWS::S3::BucketPolicy', {
          Bucket: { Ref: bucket },
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 's3:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
    });
  });

  describe('page queue', () => {
    it('is encrypted, keeps tasks over a weekend and dead-letters after 5 receives', () => {
      const queue = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.queue)).Properties;
      expect(queue).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 4 * 24 * 3600,
        RedrivePolicy: { deadLetterTargetArn: arn(stack.pages.deadLetterQueue), maxReceiveCount: 5 },
      });
    });

    it('has an encrypted dead-letter queue that keeps tasks 14 days', () => {
      const dlq = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.deadLetterQueue)).Properties;
      expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect(dlq.RedrivePolicy).toBeUndefined();
    });

    it('hides a task for at least 6 worker timeouts', () => {
      const queue = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.queue)).Properties;
      const worker = resourceOf(template, 'AWS::Lambda::Function', logicalId(stack.functions.worker)).Properties;
      expect(worker.Timeout).toBe(60);
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * worker.Timeout);
    });

    it('denies plain HTTP on both queues', () => {
      for (const queue of [stack.pages.queue, stack.pages.deadLetterQueue]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [ref(queue)],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });
  });

  describe('API secret', () => {
    it('is created without any value written in code', () => {
      expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toEqual([
        logicalId(stack.credentials.secret),
      ]);
      const secret = resourceOf(template, 'AWS::SecretsManager::Secret', logicalId(stack.credentials.secret));
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.GenerateSecretString).toEqual({});
      expect(secret.Properties.Description).toContain('{"login":"...","apiKey":"..."}');
      expect(secret.DeletionPolicy).toBe('Retain');
    });
  });

  describe('functions', () => {
    const common = {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
    };
    const powertools = {
      POWERTOOLS_SERVICE_NAME: 'livechat-archiver',
      POWERTOOLS_METRICS_NAMESPACE: 'LivechatArchiver',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };

    it('runs the planner on Node 24 arm64 with its environment', () => {
      const planner = resourceOf(template, 'AWS::Lambda::Function', logicalId(stack.functions.planner)).Properties;
      expect(planner).toMatchObject(common);
      expect(planner.TracingConfig).toBeUndefined();
      expect(planner.Environment.Variables).toEqual({
        ...powertools,
        QUEUE_URL: ref(stack.pages.queue),
        TIME_ZONE: 'UTC',
        LOOKBACK_DAYS: '3',
        SETTLE_HOURS: '2',
        MAX_RANGE_DAYS: '1200',
        FILTERS: '{}',
        SOURCE: 'v2',
        PROJECTION_START: '2020-01-01',
        SECRET_ID: ref(stack.credentials.secret),
        API_URL: 'https://api.livechatinc.com',
        BUCKET_NAME: ref(stack.lake.bucket),
      });
    });

    it('runs the worker on Node 24 arm64 with its environment, timeout and memory', () => {
      const worker = resourceOf(template, 'AWS::Lambda::Function', logicalId(stack.functions.worker)).Properties;
      expect(worker).toMatchObject({ ...common, Timeout: 60, MemorySize: 512 });
      expect(worker.TracingConfig).toBeUndefined();
      expect(worker.Environment.Variables).toEqual({
        ...powertools,
        BUCKET_NAME: ref(stack.lake.bucket),
        QUEUE_URL: ref(stack.pages.queue),
        SECRET_ID: ref(stack.credentials.secret),
        API_URL: 'https://api.livechatinc.com',
        MAX_ATTEMPTS: '5',
        REQUEST_TIMEOUT_MS: '20000',
        REQUEST_BUDGET_MS: '45000',
        SOURCE: 'v2',
        ATTACHMENTS: 'on',
        ATTACHMENT_HOSTS: 'cdn.livechat-files.com,static.livechatinc.com',
        MAX_ATTACHMENT_MB: '25',
      });
    });

    it('logs each function to its own log group with retention', () => {
      for (const fn of [stack.functions.planner, stack.functions.worker]) {
        const props = resourceOf(template, 'AWS::Lambda::Function', logicalId(fn)).Properties;
        const logGroup = resourceOf(template, 'AWS::Logs::LogGroup', props.LoggingConfig.LogGroup.Ref);
        expect(logGroup.Properties.RetentionInDays).toBe(30);
        expect(logGroup.DeletionPolicy).toBe('Retain');
      }
    });

    it('bundles each handler locally as minified ESM with a source map and the AWS SDK left out', () => {
      for (const fn of [stack.functions.planner, stack.functions.worker]) {
        const key: string = resourceOf(template, 'AWS::Lambda::Function', logicalId(fn)).Properties.Code.S3Key;
        const assetDir = path.join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
        const bundle = readFileSync(path.join(assetDir, 'index.mjs'), 'utf8');
        expect(existsSync(path.join(assetDir, 'index.mjs.map'))).toBe(true);
        expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
        // Imported, statically or on first use, from the runtime's SDK, never bundled.
        expect(bundle).toMatch(/(from\s*|import\()"@aws-sdk\/client-sqs"/);
        expect(bundle).not.toContain('@aws-sdk/client-sqs/dist-cjs');
        expect(bundle.length / bundle.split('\n').length, 'characters per line').toBeGreaterThan(1000);
      }
    });

    it('feeds the worker from the page queue with partial batch failures and a concurrency cap', () => {
      const mappings = template.findResources('AWS::Lambda::EventSourceMapping');
      expect(Object.values(mappings).map((m) => m.Properties)).toEqual([
        {
          EventSourceArn: arn(stack.pages.queue),
          FunctionName: ref(stack.functions.worker),
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          BatchSize: 5,
          MaximumBatchingWindowInSeconds: 0,
          ScalingConfig: { MaximumConcurrency: 4 },
        },
      ]);
    });

    it('invokes the planner nightly in the configured time zone with its scheduled time', () => {
      // The compaction schedule starts its state machine (compaction-stack.test.ts).
      const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).filter(
        (schedule) => !JSON.stringify(schedule.Properties.Target.Arn).includes('CompactionStateMachine'),
      );
      expect(schedules).toHaveLength(1);
      expect(schedules[0]!.Properties).toMatchObject({
        ScheduleExpression: 'cron(30 4 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        GroupName: stack.resolve(stack.functions.scheduleGroup.scheduleGroupName),
        Target: {
          Arn: arn(stack.functions.planner),
          RoleArn: { 'Fn::GetAtt': [expect.stringMatching(/^FunctionsScheduleRole/), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
          DeadLetterConfig: { Arn: arn(stack.pages.failedRunQueue) },
        },
      });
    });

    it('sends a planner invocation that failed its asynchronous retries to the failed-run queue', () => {
      const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig')).map((c) => c.Properties);
      expect(configs).toEqual([
        {
          FunctionName: ref(stack.functions.planner),
          Qualifier: '$LATEST',
          MaximumRetryAttempts: 2,
          DestinationConfig: { OnFailure: { Destination: arn(stack.pages.failedRunQueue) } },
        },
      ]);
      const queue = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.failedRunQueue)).Properties;
      expect(queue).toMatchObject({ MessageRetentionPeriod: 14 * 86_400, SqsManagedSseEnabled: true });
    });
  });

  describe('least privilege', () => {
    const role = (id: string) => {
      const found = stack.node.findAll().find((c) => c.node.path === `${STACK_NAME}/Functions/${id}`);
      if (!found) throw new Error(`no role ${id}`);
      return found;
    };

    it('uses no managed policies', () => {
      for (const [, r] of Object.entries(template.findResources('AWS::IAM::Role'))) {
        expect(r.Properties.ManagedPolicyArns).toBeUndefined();
      }
      expect(template.findResources('AWS::IAM::ManagedPolicy')).toEqual({});
    });

    it('lets the planner only write its logs, send to the page queue, read its secret and list the lake zone records', () => {
      expect(grantsOf(template, role('PlannerRole'))).toEqual(
        grants(
          ['logs:CreateLogStream', arn(stack.functions.planner.logGroup)],
          ['logs:PutLogEvents', arn(stack.functions.planner.logGroup)],
          ['sqs:SendMessage', arn(stack.pages.queue)],
          ['sqs:SendMessage', arn(stack.pages.failedRunQueue)],
          ['secretsmanager:GetSecretValue', ref(stack.credentials.secret)],
          ['s3:ListBucket', arn(stack.lake.bucket), { StringEquals: { 's3:prefix': 'manifests/time-zone/' } }],
        ),
      );
    });

    it('scopes the worker to its lake prefixes (erasure records read only, nothing deleted under manifests/), its secret and its queue', () => {
      const lake = stack.lake.bucket;
      const queue = arn(stack.pages.queue);
      expect(grantsOf(template, role('WorkerRole'))).toEqual(
        grants(
          ['logs:CreateLogStream', arn(stack.functions.worker.logGroup)],
          ['logs:PutLogEvents', arn(stack.functions.worker.logGroup)],
          ['s3:PutObject', objectsArn(lake, `${CHATS_PREFIX}*`)],
          ['s3:PutObject', objectsArn(lake, 'files/*')],
          ['s3:PutObject', objectsArn(lake, 'chat-files/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/day-plans/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/dropped-chats/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/passes/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/settled/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/day-merges/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/drift-claims/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/time-zone/*')],
          ['s3:PutObject', objectsArn(lake, 'manifests/filters/*')],
          ['s3:DeleteObject', objectsArn(lake, `${CHATS_PREFIX}*`)],
          ['s3:DeleteObject', objectsArn(lake, 'files/*')],
          ['s3:DeleteObject', objectsArn(lake, 'chat-files/*')],
          ['s3:GetObject', objectsArn(lake, `${CHATS_PREFIX}*`)],
          ['s3:GetObject', objectsArn(lake, 'chat-files/*')],
          ['s3:GetObject', objectsArn(lake, 'manifests/*')],
          [
            's3:ListBucket',
            arn(lake),
            { StringLike: { 's3:prefix': ['chats/*', 'compacted/chats/*', 'files/*', 'chat-files/*', 'manifests/*'] } },
          ],
          ['secretsmanager:GetSecretValue', ref(stack.credentials.secret)],
          ['sqs:ReceiveMessage', queue],
          ['sqs:ChangeMessageVisibility', queue],
          ['sqs:DeleteMessage', queue],
          ['sqs:GetQueueAttributes', queue],
          ['sqs:SendMessage', queue],
        ),
      );
    });

    it('lets the scheduler only invoke the planner, from this account', () => {
      const scheduleRole = role('ScheduleRole');
      expect(grantsOf(template, scheduleRole)).toEqual(
        grants(
          ['lambda:InvokeFunction', arn(stack.functions.planner)],
          ['sqs:SendMessage', arn(stack.pages.failedRunQueue)],
        ),
      );
      const trust = resourceOf(template, 'AWS::IAM::Role', logicalId(scheduleRole)).Properties.AssumeRolePolicyDocument;
      expect(trust.Statement).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
    });
  });

  describe('monitoring', () => {
    const topicRef = () => ref(stack.monitoring.topic);

    it('sends alarms to an SSL-only topic with the configured e-mail subscribed', () => {
      template.resourceCountIs('AWS::SNS::Topic', 1);
      expect(Object.values(template.findResources('AWS::SNS::Subscription')).map((s) => s.Properties)).toEqual([
        { Protocol: 'email', Endpoint: ALARMS_TO.alarmEmail, TopicArn: topicRef() },
      ]);
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [topicRef()],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    const queueDimension = (queue: 'queue' | 'deadLetterQueue' | 'failedRunQueue') => [
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.pages[queue]), 'QueueName'] } },
    ];
    const functionDimension = (fn: 'planner' | 'worker') => [{ Name: 'FunctionName', Value: ref(stack.functions[fn]) }];
    const custom = [{ Name: 'service', Value: 'livechat-archiver' }];
    const group = () => [
      { Name: 'ScheduleGroup', Value: stack.resolve(stack.functions.scheduleGroup.scheduleGroupName) },
    ];
    const DAY = 86_400;

    // name, namespace, metric, statistic, period (s), threshold, comparison, M of N, missing data, dimensions
    const ALARMS = [
      [
        'NightlyRunMissing',
        'LivechatArchiver',
        'DaysPlanned',
        'Sum',
        DAY,
        1,
        'LessThanThreshold',
        [1, 1],
        'breaching',
        () => custom,
      ],
      [
        'ScheduleTargetErrors',
        'AWS/Scheduler',
        'TargetErrorCount',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => group(),
      ],
      [
        'ScheduleInvocationsDropped',
        'AWS/Scheduler',
        'InvocationDroppedCount',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => group(),
      ],
      [
        'FailedRunQueueNotEmpty',
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'Maximum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => queueDimension('failedRunQueue'),
      ],
      [
        'PlannerErrors',
        'AWS/Lambda',
        'Errors',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => functionDimension('planner'),
      ],
      [
        'LivechatAuthFailed',
        'LivechatArchiver',
        'AuthFailures',
        'Sum',
        3600,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => custom,
      ],
      [
        'SchemaViolations',
        'LivechatArchiver',
        'SchemaViolations',
        'Sum',
        3600,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => custom,
      ],
      [
        'DeadLetterQueueNotEmpty',
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'Maximum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => queueDimension('deadLetterQueue'),
      ],
      [
        'DeadLetterQueueMessageAging',
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'Maximum',
        3600,
        7 * DAY,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => queueDimension('deadLetterQueue'),
      ],
      [
        'OldestPageTaskTooOld',
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'Maximum',
        300,
        7200,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => queueDimension('queue'),
      ],
      [
        'WorkerErrors',
        'AWS/Lambda',
        'Errors',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [2, 6],
        'notBreaching',
        () => functionDimension('worker'),
      ],
      [
        'WorkerThrottles',
        'AWS/Lambda',
        'Throttles',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [2, 6],
        'notBreaching',
        () => functionDimension('worker'),
      ],
      [
        'DaysLeftIncomplete',
        'LivechatArchiver',
        'DaysIncomplete',
        'Sum',
        300,
        0,
        'GreaterThanThreshold',
        [1, 1],
        'notBreaching',
        () => custom,
      ],
      [
        'ApiRetirementNear',
        'LivechatArchiver',
        'ApiDaysLeft',
        'Minimum',
        DAY,
        90,
        'LessThanThreshold',
        [1, 1],
        'notBreaching',
        () => custom,
      ],
    ] as const;

    const alarmsByName = () =>
      new Map(
        Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => [
          String(alarm.Properties.AlarmName).replace(`${STACK_NAME}-`, ''),
          alarm.Properties,
        ]),
      );

    it('has exactly the alarms of the runbook table, each notifying the topic', () => {
      expect([...alarmsByName().keys()].sort()).toEqual(
        [...ALARMS.map(([name]) => name), 'DeadLetterQueueGrew', 'CompactionFailed'].sort(),
      );
      for (const [name, alarm] of alarmsByName()) {
        expect(alarm.AlarmActions, name).toEqual([topicRef()]);
        // Pulses notify when they fire, never OK (an OK an hour later would not mean the cause is gone).
        const pulse = ['DeadLetterQueueGrew', 'LivechatAuthFailed', 'SchemaViolations'].includes(name);
        expect(alarm.OKActions, name).toEqual(pulse ? undefined : [topicRef()]);
      }
    });

    it.each(ALARMS.map((row) => [row[0], row] as const))(
      'alarms %s on its metric, threshold, M of N and missing-data rule',
      (name, row) => {
        const [, namespace, metricName, statistic, period, threshold, comparison, [m, n], missing, dimensionsOf] = row;
        const dimensions = dimensionsOf();
        expect(alarmsByName().get(name)).toMatchObject({
          Namespace: namespace,
          MetricName: metricName,
          Statistic: statistic,
          Period: period,
          Dimensions: dimensions,
          Threshold: threshold,
          ComparisonOperator: comparison,
          DatapointsToAlarm: m,
          EvaluationPeriods: n,
          TreatMissingData: missing,
        });
      },
    );

    it('notifies again when new tasks reach the DLQ (DIFF of its depth), without an OK notification', () => {
      const alarm = alarmsByName().get('DeadLetterQueueGrew')!;
      expect(alarm).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      const [expression, depth] = alarm.Metrics;
      expect(expression).toMatchObject({ Expression: 'DIFF(dlq)', ReturnData: true });
      expect(depth).toMatchObject({
        Id: 'dlq',
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/SQS',
            MetricName: 'ApproximateNumberOfMessagesVisible',
            Dimensions: queueDimension('deadLetterQueue'),
          },
          Period: 300,
          Stat: 'Maximum',
        },
      });
    });

    it('points every alarm description to its runbook entry', () => {
      for (const [name, alarm] of alarmsByName()) {
        expect(alarm.AlarmDescription, name).toMatch(new RegExp(` Runbook: docs/runbook\\.md#${name.toLowerCase()}$`));
      }
    });

    it('has a dashboard with the custom metrics, worker errors and queue depths', () => {
      const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
      expect(dashboards).toHaveLength(1);
      const body = JSON.stringify(dashboards[0]!.Properties.DashboardBody);
      for (const metric of ['PagesArchived', 'ChatsArchived', 'Retries', 'DriftDetected', 'RateLimited']) {
        expect(body).toContain(`[\\"LivechatArchiver\\",\\"${metric}\\",\\"service\\",\\"livechat-archiver\\"`);
      }
      expect(body).toContain('\\"AWS/Lambda\\",\\"Errors\\"');
      expect(body).toContain('\\"AWS/SQS\\",\\"ApproximateNumberOfMessagesVisible\\"');
      expect(body).toContain(logicalId(stack.pages.deadLetterQueue));
      expect(body).toContain('DLQ visible');
    });

    it('links the day_completeness saved query from the dashboard', () => {
      const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties);
      expect(body).toContain('Did last night get everything?');
      expect(body).toContain('Run the saved query **day_completeness**');
      expect(body).toContain(`"Fn::GetAtt":["${logicalId(stack.athena.dayCompletenessQuery)}","NamedQueryId"]`);
      expect(body).toContain('.console.aws.amazon.com/athena/home?region=');
    });
  });

  describe('Glue table and Athena', () => {
    const table = () => resourceOf(template, 'AWS::Glue::Table', logicalId(stack.athena.table)).Properties.TableInput;

    it('creates the database and the chats JSON table over s3://<lake>/chats/ (the view chats reads it)', () => {
      template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'livechat_archive' } });
      expect(table().Name).toBe(`${LAKE_TABLE}_json`);
      expect(table().TableType).toBe('EXTERNAL_TABLE');
      expect(table().StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/${CHATS_PREFIX}`]],
      });
    });

    it('has the columns of CHAT_COLUMNS in order and dt as the partition key', () => {
      expect(table().StorageDescriptor.Columns).toEqual(
        CHAT_COLUMNS.map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment })),
      );
      expect(table().PartitionKeys).toEqual(
        PARTITION_KEYS.map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment })),
      );
    });

    it('reads gzip NDJSON with the SerDe chat-columns asks for', () => {
      expect(table().StorageDescriptor).toMatchObject({
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        SerdeInfo: { SerializationLibrary: JSON_SERDE.library },
        Compressed: true,
      });
      expect(table().Parameters.classification).toBe('json');
      expect(table().Parameters.has_encrypted_data).toBe(false); // SSE-S3, not client-side encrypted
    });

    it('projects dt as a day from projectionStart to a day past NOW onto chats/dt=${dt}/', () => {
      expect(table().Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '2020-01-01,NOW+1DAYS',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'storage.location.template': { 'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), '/chats/dt=${dt}/']] },
      });
    });

    it('ends every dt projection a day past NOW (the lake’s today east of UTC), the month projections at NOW', () => {
      const ranges = Object.values(template.findResources('AWS::Glue::Table')).flatMap((resource) =>
        Object.entries(resource.Properties.TableInput.Parameters ?? {}).filter(([key]) => key.endsWith('.range')),
      );
      const dt = ranges.filter(([key]) => key === 'projection.dt.range').map(([, range]) => range);
      const month = ranges.filter(([key]) => key === 'projection.month.range').map(([, range]) => range);
      // chats, chat_threads, chat_files: JSON, lines and day files; day_plans, dropped_chats, expired_days.
      expect(dt).toHaveLength(12);
      expect(new Set(dt)).toEqual(new Set(['2020-01-01,NOW+1DAYS']));
      expect(new Set(month)).toEqual(new Set(['2020-01,NOW']));
      expect(dt.length + month.length).toBe(ranges.length);
    });

    it('creates chat_threads over s3://<lake>/archives/ with THREAD_SCHEMA columns, the same SerDe and dt projection', () => {
      const threads = resourceOf(template, 'AWS::Glue::Table', logicalId(stack.athena.threadsTable)).Properties
        .TableInput;
      expect(threads.Name).toBe(`${THREADS_TABLE}_json`);
      expect(threads.StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/${ARCHIVES_PREFIX}`]],
      });
      expect(threads.StorageDescriptor.Columns).toEqual(
        THREAD_SCHEMA.map(toColumn).map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment })),
      );
      expect(threads.StorageDescriptor).toMatchObject({
        SerdeInfo: { SerializationLibrary: JSON_SERDE.library },
        Compressed: true,
      });
      expect(threads.PartitionKeys).toEqual(table().PartitionKeys);
      expect(threads.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.range': '2020-01-01,NOW+1DAYS',
        'storage.location.template': {
          'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), '/archives/dt=${dt}/']],
        },
      });
    });

    it('enforces an encrypted, scan-capped workgroup', () => {
      const workGroup = resourceOf(template, 'AWS::Athena::WorkGroup', logicalId(stack.athena.workGroup)).Properties;
      expect(workGroup).toMatchObject({
        Name: 'livechat-archiver',
        State: 'ENABLED',
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          BytesScannedCutoffPerQuery: 2_000_000_000,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
            OutputLocation: { 'Fn::Join': ['', ['s3://', ref(stack.athena.resultsBucket), '/results/']] },
          },
        },
      });
    });

    it('creates the day_plans table over s3://<lake>/manifests/day-plans/, dt projected like chats', () => {
      const plans = resourceOf(template, 'AWS::Glue::Table', logicalId(stack.athena.dayPlansTable)).Properties
        .TableInput;
      expect(plans.Name).toBe(DAY_PLANS_TABLE);
      expect(plans.StorageDescriptor.Columns).toEqual(
        DAY_PLAN_COLUMNS.map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment })),
      );
      expect(plans.StorageDescriptor).toMatchObject({ SerdeInfo: { SerializationLibrary: JSON_SERDE.library } });
      expect(plans.StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), '/manifests/day-plans/']],
      });
      expect(plans.PartitionKeys.map((key: { Name: string }) => key.Name)).toEqual(['dt']);
      expect(plans.Parameters).toMatchObject({
        'projection.dt.type': 'date',
        'projection.dt.range': '2020-01-01,NOW+1DAYS',
        'storage.location.template': {
          'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), '/manifests/day-plans/dt=${dt}/']],
        },
      });
      template.hasOutput('DayCompletenessQueryId', {
        Value: { 'Fn::GetAtt': [logicalId(stack.athena.dayCompletenessQuery), 'NamedQueryId'] },
      });
    });

    it('creates the expired_days table over s3://<lake>/manifests/expired-days/, dt projected like chats', () => {
      const expired = resourceOf(template, 'AWS::Glue::Table', logicalId(stack.athena.expiredDaysTable)).Properties
        .TableInput;
      expect(expired.Name).toBe(EXPIRED_DAYS_TABLE);
      expect(expired.StorageDescriptor.Columns).toEqual(
        EXPIRED_DAY_COLUMNS.map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment })),
      );
      expect(expired.StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), '/manifests/expired-days/']],
      });
      // The default config keeps chats forever: the saved day_completeness has no retention cutoff.
      expect(
        resourceOf(template, 'AWS::Athena::NamedQuery', logicalId(stack.athena.dayCompletenessQuery)).Properties
          .QueryString,
      ).toContain('y.dt < CAST(NULL AS varchar)');
    });

    it('describes dt as the chat day', () => {
      expect(table().Description).toContain('chat day dt');
      expect(table().Description).not.toContain('archive day');
    });

    it('lets a redeploy after cdk destroy recreate the fixed-name database and workgroup', () => {
      // The default config retains data (buckets, secret, logs); definitions go with the stack.
      expect(resourceOf(template, 'AWS::Glue::Database', logicalId(stack.athena.database)).DeletionPolicy).toBe(
        'Delete',
      );
      const workGroup = resourceOf(template, 'AWS::Athena::WorkGroup', logicalId(stack.athena.workGroup));
      expect(workGroup.DeletionPolicy).toBe('Delete');
      expect(workGroup.Properties.RecursiveDeleteOption).toBe(true);
      for (const resource of Object.values(template.findResources('AWS::Glue::Table'))) {
        expect(resource.DeletionPolicy ?? 'Delete').toBe('Delete');
      }
    });

    it('keeps query results in their own private, logged, expiring bucket', () => {
      const results = resourceOf(template, 'AWS::S3::Bucket', logicalId(stack.athena.resultsBucket)).Properties;
      expect(results).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { LogFilePrefix: 'athena-results/' },
        LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 7 })] },
      });
      expect(logicalId(stack.athena.resultsBucket)).not.toBe(logicalId(stack.lake.bucket));
    });

    it('saves one named query per NAMED_QUERIES entry in the workgroup and database', () => {
      const saved = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((q) => q.Properties);
      expect(saved).toEqual(
        NAMED_QUERIES.map((query) => ({
          Name: query.name,
          Description: query.description,
          QueryString: query.athenaSql,
          Database: ref(stack.athena.database),
          WorkGroup: ref(stack.athena.workGroup),
        })),
      );
    });
  });
});

describe('archiver stack with overrides', () => {
  let stack: ArchiverStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthStack({
      timeZone: 'Europe/Warsaw',
      scheduleCron: 'cron(0 4 * * ? *)',
      workerConcurrency: 2,
      batchSize: 10,
      maxBatchingWindowSeconds: 20,
      workerTimeoutSeconds: 120,
      workerMemoryMb: 1024,
      maxReceiveCount: 8,
      filters: { group: 3 },
      secretName: 'livechat/api',
      alarmEmail: 'ops@example.com',
      intelligentTieringAfterDays: 30,
      noncurrentVersionExpirationDays: 7,
      removalPolicy: 'destroy',
      bucketNamePrefix: 'acme-livechat',
      tracing: true,
      projectionStart: '2023-06-01',
      bytesScannedCutoffBytes: 50_000_000,
      metricsNamespace: 'Acme/Livechat',
    }));
  });

  it('schedules in the configured time zone', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 4 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Warsaw',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TIME_ZONE: 'Europe/Warsaw', FILTERS: '{"group":3}' }) },
    });
  });

  it('sizes the worker, its event source and the queue from config', () => {
    const worker = resourceOf(template, 'AWS::Lambda::Function', logicalId(stack.functions.worker)).Properties;
    expect(worker).toMatchObject({ Timeout: 120, MemorySize: 1024, TracingConfig: { Mode: 'Active' } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 20,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const queue = resourceOf(template, 'AWS::SQS::Queue', logicalId(stack.pages.queue)).Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 120);
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(8);
  });

  it('reads an existing secret by name instead of creating one', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: 'secretsmanager:GetSecretValue',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':secretsmanager:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':secret:livechat/api-??????',
                ],
              ],
            },
          },
        ]),
      },
    });
  });

  it('subscribes the alarm email', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('refuses to synthesize when alarms would reach nobody', () => {
    expect(() => createArchiverApp({ nag: false, context: { [CONTEXT_KEY]: {} } })).toThrowError(
      /alarmEmail.*alarmTopicArn/,
    );
  });

  it('names buckets, tiers current objects and lets a dev stack be destroyed', () => {
    const lake = resourceOf(template, 'AWS::S3::Bucket', logicalId(stack.lake.bucket));
    expect(lake.DeletionPolicy).toBe('Delete');
    expect(lake.Properties.BucketName).toBe('acme-livechat-lake');
    expect(lake.Properties.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } }),
        expect.objectContaining({ Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }] }),
      ]),
    );
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-livechat-athena-results' });
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-livechat-access-logs' });
  });

  it('projects from the configured start and caps scans as configured', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: { Parameters: Match.objectLike({ 'projection.dt.range': '2023-06-01,NOW+1DAYS' }) },
    });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 50_000_000 }),
    });
  });

  it('graphs and alarms on the configured metrics namespace', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Acme/Livechat',
      MetricName: 'DaysIncomplete',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_METRICS_NAMESPACE: 'Acme/Livechat' }) },
    });
  });
});

describe('archiver stack sending alarms to an existing topic', () => {
  it('creates no topic and points every alarm at alarmTopicArn', () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:pager';
    const { app } = createArchiverApp({
      nag: false,
      context: { 'aws:cdk:bundling-stacks': [], [CONTEXT_KEY]: { alarmTopicArn: topicArn } },
    });
    const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(10);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topicArn]);
  });
});

describe('the runbook', () => {
  it('has one entry per alarm of the synthesized template, and no entry for an alarm that does not exist', () => {
    const { app } = createArchiverApp({
      nag: false,
      context: { 'aws:cdk:bundling-stacks': [], [CONTEXT_KEY]: { ...ALARMS_TO, source: 'v3.6', webhooks: true } },
    });
    const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) =>
      String(alarm.Properties.AlarmName).replace(`${STACK_NAME}-`, ''),
    );
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    const alarmSection = runbook.slice(runbook.indexOf('\n## Alarms\n'));
    const entries = [...alarmSection.matchAll(/^### (\S+)$/gm)].map((match) => match[1]);
    expect(entries.sort()).toEqual(alarms.sort());
    for (const entry of entries) {
      const body = alarmSection.slice(alarmSection.indexOf(`### ${entry}\n`)).split('\n### ')[0]!;
      for (const part of [/\*\*Means:\*\*/, /\*\*[^*\n]*fix[^*\n]*:\*\*/i, /\*\*[^*\n]*recover[^*\n]*:\*\*/i]) {
        expect(body, `${entry} ${part}`).toMatch(part);
      }
    }
  });
});
