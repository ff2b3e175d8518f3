import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';

export const ARCHIVER_METRICS = [
  'PagesArchived',
  'ChatsArchived',
  'Retries',
  'RateLimited',
  'DriftDetected',
  'DaysIncomplete',
  'DaysPlanned',
  'UnknownFields',
  'ApiDaysLeft',
  'AuthFailures',
  'SchemaViolations',
] as const;
export type ArchiverMetric = (typeof ARCHIVER_METRICS)[number];

export interface MonitoringProps {
  readonly config: ArchiverConfig;
  readonly planner: lambda.IFunction;
  readonly worker: lambda.IFunction;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Nightly invocations the schedule could not deliver and planner invocations that failed every retry. */
  readonly failedRunQueue: sqs.IQueue;
  readonly scheduleGroup: scheduler.IScheduleGroup;
  /** The saved Athena query that tells whether a night archived every planned chat. */
  readonly completenessQuery: athena.CfnNamedQuery;
  /** The state machine that compacts settled days into Parquet (docs/compaction.md). */
  readonly compaction?: sfn.IStateMachine;
}

const FIVE_MINUTES = Duration.minutes(5);
/** Days before a Legacy/Deprecation date at which the ApiRetirementNear alarm fires. */
export const API_RETIREMENT_ALARM_DAYS = 90;
/** Half the DLQ's 14-day retention: a week left to redrive before SQS deletes the task. */
export const DLQ_AGE_ALARM_SECONDS = 7 * 24 * 3600;

/** Where each alarm's entry lives: `docs/runbook.md#<alarm id, lower case>` (a GitHub heading anchor). */
export const RUNBOOK_PATH = 'docs/runbook.md';
export const runbookAnchor = (alarmId: string) => alarmId.toLowerCase();

interface AlarmSpec {
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
  readonly comparisonOperator?: cloudwatch.ComparisonOperator;
  /** M of N: breaching periods among the last N before ALARM (default 1 of 1). */
  readonly datapointsToAlarm?: number;
  readonly evaluationPeriods?: number;
  readonly treatMissingData?: cloudwatch.TreatMissingData;
  /** Also notify when the alarm returns to OK (default true; off for pulses such as "new DLQ messages"). */
  readonly notifyOk?: boolean;
}

export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, planner, worker, queue, deadLetterQueue, failedRunQueue, scheduleGroup, completenessQuery } = props;

    this.topic = config.alarmTopicArn
      ? sns.Topic.fromTopicArn(this, 'AlarmTopic', config.alarmTopicArn)
      : new sns.Topic(this, 'AlarmTopic', { displayName: 'LiveChat archiver alarms', enforceSSL: true });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    const custom = (metricName: ArchiverMetric) =>
      new cloudwatch.Metric({
        namespace: config.metricsNamespace,
        metricName,
        dimensionsMap: { service: config.serviceName },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });

    const dlqDepth = deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: FIVE_MINUTES,
      statistic: 'Maximum',
    });
    const dlqAge = deadLetterQueue.metricApproximateAgeOfOldestMessage({
      period: Duration.hours(1),
      statistic: 'Maximum',
    });
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' });
    const workerErrors = worker.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
    const workerThrottles = worker.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
    const plannerErrors = planner.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
    const failedRuns = failedRunQueue.metricApproximateNumberOfMessagesVisible({
      period: FIVE_MINUTES,
      statistic: 'Maximum',
    });
    const daysPlanned = custom('DaysPlanned');
    const daysLeft = custom('ApiDaysLeft').with({ statistic: 'Minimum', period: Duration.days(1) });

    this.alarm('NightlyRunMissing', {
      metric: daysPlanned.with({ period: Duration.days(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description:
        'No run was planned in the last 24 hours (DaysPlanned missing): the nightly schedule did not fire, or the planner failed. In ALARM after a fresh deploy until the first night.',
    });
    this.alarm('ScheduleTargetErrors', {
      metric: scheduleGroup.metricTargetErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'EventBridge Scheduler could not invoke the planner (TargetErrorCount).',
    });
    this.alarm('ScheduleInvocationsDropped', {
      metric: scheduleGroup.metricDropped({ period: FIVE_MINUTES, statistic: 'Sum' }),
      threshold: 0,
      description: 'EventBridge Scheduler gave up on a nightly invoke after its retries (InvocationDroppedCount).',
    });
    this.alarm('FailedRunQueueNotEmpty', {
      metric: failedRuns,
      threshold: 0,
      description:
        'A nightly invoke the schedule could not deliver, or a planner invocation that failed every retry, waits in the failed-run queue.',
    });
    this.alarm('PlannerErrors', {
      metric: plannerErrors,
      threshold: 0,
      description: 'The planner function failed: tonight’s run may not be planned.',
    });
    // Hourly, and no OK notification: during an outage the workers' redelivery waves (every ~6 minutes)
    // would otherwise flip it ALARM/OK; the planner's refusal, once a night, notifies each night.
    this.alarm('LivechatAuthFailed', {
      metric: custom('AuthFailures').with({ period: Duration.hours(1) }),
      threshold: 0,
      notifyOk: false,
      description:
        'LiveChat refused the credentials (401/403) at the planner’s pre-check or in a worker: nothing is archived until the secret is fixed. No OK notification: the next night’s planner check tells.',
    });
    this.alarm('SchemaViolations', {
      metric: custom('SchemaViolations').with({ period: Duration.hours(1) }),
      threshold: 0,
      notifyOk: false,
      description:
        'LiveChat sent values that do not fit their column type (type drift): they were kept in the _mistyped column and every query still reads the days; extend the table or report the API change.',
    });
    this.alarm('DeadLetterQueueNotEmpty', {
      metric: dlqDepth,
      threshold: 0,
      description: 'Page tasks failed every delivery and wait in the DLQ.',
    });
    this.alarm('DeadLetterQueueGrew', {
      metric: new cloudwatch.MathExpression({
        expression: 'DIFF(dlq)',
        usingMetrics: { dlq: dlqDepth },
        period: FIVE_MINUTES,
        label: 'New DLQ messages',
      }),
      threshold: 0,
      notifyOk: false,
      description:
        'New page tasks reached the DLQ (a second bad night notifies again while DeadLetterQueueNotEmpty stays in ALARM).',
    });
    this.alarm('DeadLetterQueueMessageAging', {
      metric: dlqAge,
      threshold: DLQ_AGE_ALARM_SECONDS,
      description: `A page task has waited in the DLQ for more than ${DLQ_AGE_ALARM_SECONDS / 86_400} days: SQS deletes it 14 days after it was first queued; redrive it now.`,
    });
    this.alarm('OldestPageTaskTooOld', {
      metric: oldestAge,
      threshold: config.oldestMessageAgeAlarmSeconds,
      description: `A page task has waited more than ${config.oldestMessageAgeAlarmSeconds} s: the archive run is stuck or too slow.`,
    });
    this.alarm('WorkerErrors', {
      metric: workerErrors,
      threshold: 0,
      datapointsToAlarm: 2,
      evaluationPeriods: 6,
      description:
        'The worker function failed whole invocations (timeouts, crashes) in 2 of the last 6 five-minute periods.',
    });
    this.alarm('WorkerThrottles', {
      metric: workerThrottles,
      threshold: 0,
      datapointsToAlarm: 2,
      evaluationPeriods: 6,
      description: 'The worker function was throttled in 2 of the last 6 five-minute periods.',
    });
    this.alarm('DaysLeftIncomplete', {
      metric: custom('DaysIncomplete'),
      threshold: 0,
      description: 'A day kept changing after every re-archive attempt and is incomplete in the lake.',
    });
    this.alarm('ApiRetirementNear', {
      metric: daysLeft,
      threshold: API_RETIREMENT_ALARM_DAYS,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      description: `LiveChat's responses carry a Legacy or Deprecation date less than ${API_RETIREMENT_ALARM_DAYS} days away: the API version the archiver reads is being retired (switch to source v3.6).`,
    });

    if (props.compaction) {
      const period = Duration.hours(1);
      this.alarm('CompactionFailed', {
        metric: new cloudwatch.MathExpression({
          expression: 'failed + timedOut + aborted',
          usingMetrics: {
            failed: props.compaction.metricFailed({ period, statistic: 'Sum' }),
            timedOut: props.compaction.metricTimedOut({ period, statistic: 'Sum' }),
            aborted: props.compaction.metricAborted({ period, statistic: 'Sum' }),
          },
          period,
          label: 'Compaction runs failed',
        }),
        threshold: 0,
        description:
          'The compaction of settled days into Parquet failed, timed out or was aborted: the days stay readable as JSON and the next night tries again.',
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Pages and chats archived',
            left: [custom('PagesArchived')],
            right: [custom('ChatsArchived')],
            width: 6,
          }),
          new cloudwatch.GraphWidget({ title: 'Days planned', left: [custom('DaysPlanned')], width: 6 }),
          new cloudwatch.GraphWidget({
            title: 'Retries and rate limits',
            left: [custom('Retries'), custom('RateLimited')],
            width: 6,
          }),
          new cloudwatch.GraphWidget({
            title: 'Drift',
            left: [custom('DriftDetected'), custom('DaysIncomplete')],
            width: 6,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors and throttles',
            left: [
              workerErrors.with({ label: 'Worker errors' }),
              workerThrottles.with({ label: 'Worker throttles' }),
              plannerErrors.with({ label: 'Planner errors' }),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Page queue depth',
            left: [
              queue.metricApproximateNumberOfMessagesVisible({
                period: FIVE_MINUTES,
                statistic: 'Maximum',
                label: 'Visible',
              }),
              queue.metricApproximateNumberOfMessagesNotVisible({
                period: FIVE_MINUTES,
                statistic: 'Maximum',
                label: 'In flight',
              }),
            ],
            right: [oldestAge.with({ label: 'Oldest task age (s)' })],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queue depth',
            left: [dlqDepth.with({ label: 'DLQ visible' })],
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Chat fields without a column (UnknownFields), values of the wrong type (SchemaViolations)',
            left: [custom('UnknownFields'), custom('SchemaViolations')],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Days until the API version retires (Legacy/Deprecation header)',
            left: [daysLeft],
            width: 12,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
        [completenessWidget(completenessQuery)],
      ],
    });
  }

  private alarm(id: string, spec: AlarmSpec): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmName: `${Stack.of(this).stackName}-${id}`,
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods ?? 1,
      comparisonOperator: spec.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${spec.description} Runbook: ${RUNBOOK_PATH}#${runbookAnchor(id)}`,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    if (spec.notifyOk ?? true) alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

/** After a night: the saved query that compares the day plans with the lake, and where to run it. */
function completenessWidget(query: athena.CfnNamedQuery): cloudwatch.TextWidget {
  const region = Aws.REGION;
  return new cloudwatch.TextWidget({
    width: 24,
    height: 4,
    markdown: [
      '### Did last night get everything?',
      `Run the saved query **${query.name}** in the Athena workgroup **${query.workGroup}** ` +
        `(database **${query.database}**): one row per day, \`status\` = \`complete\` when every planned chat is in the lake. ` +
        `[Open Athena](https://${region}.console.aws.amazon.com/athena/home?region=${region}#/query-editor) → *Saved queries* → ${query.name} ` +
        `(named query id \`${query.attrNamedQueryId}\`).`,
    ].join('\n\n'),
  });
}
