import { Aws, Duration } from 'aws-cdk-lib';
import type * as athena from 'aws-cdk-lib/aws-athena';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
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
] as const;
export type ArchiverMetric = (typeof ARCHIVER_METRICS)[number];

export interface MonitoringProps {
  readonly config: ArchiverConfig;
  readonly planner: lambda.IFunction;
  readonly worker: lambda.IFunction;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The saved Athena query that tells whether a night archived every planned chat. */
  readonly completenessQuery: athena.CfnNamedQuery;
}

const FIVE_MINUTES = Duration.minutes(5);
/** Days before a Legacy/Deprecation date at which the ApiRetirementNear alarm fires. */
export const API_RETIREMENT_ALARM_DAYS = 90;

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, planner, worker, queue, deadLetterQueue, completenessQuery } = props;

    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'LiveChat archiver alarms', enforceSSL: true });
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
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    const oldestAge = queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' });
    const workerErrors = worker.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });
    const workerThrottles = worker.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' });
    const plannerErrors = planner.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' });

    this.alarm('DeadLetterQueueNotEmpty', dlqDepth, 0, 'Page tasks failed every delivery and wait in the DLQ.');
    this.alarm(
      'OldestPageTaskTooOld',
      oldestAge,
      config.oldestMessageAgeAlarmSeconds,
      `A page task has waited more than ${config.oldestMessageAgeAlarmSeconds} s: the archive run is stuck or too slow.`,
    );
    this.alarm('WorkerErrors', workerErrors, 0, 'The worker function failed whole invocations.');
    this.alarm('WorkerThrottles', workerThrottles, 0, 'The worker function was throttled.');
    this.alarm('PlannerErrors', plannerErrors, 0, 'The planner function failed: tonight’s run may not be planned.');
    this.alarm(
      'DaysLeftIncomplete',
      custom('DaysIncomplete'),
      0,
      'A day kept changing after every re-archive attempt and is incomplete in the lake.',
    );

    const daysLeft = custom('ApiDaysLeft').with({ statistic: 'Minimum', period: Duration.hours(6) });
    this.alarm(
      'ApiRetirementNear',
      daysLeft,
      API_RETIREMENT_ALARM_DAYS,
      `LiveChat's responses carry a Legacy or Deprecation date less than ${API_RETIREMENT_ALARM_DAYS} days away: the API version the archiver reads is being retired (switch to source v3.6).`,
      cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    );

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
            title: 'Chat fields without a table column (UnknownFields)',
            left: [custom('UnknownFields')],
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

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    description: string,
    comparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
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
