import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction, NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';
import { RUNBOOK_PATH, runbookAnchor } from './monitoring.ts';

export interface WebhookReceiverProps {
  readonly config: ArchiverConfig;
  readonly queue: sqs.IQueue;
  /** Its doctor checks the webhook's registration before each night (docs/doctor.md, check `webhooks`). */
  readonly planner: lambda.Function;
  readonly topic: sns.ITopic;
  /** Makes the function the way the planner and the worker are made (bundling, role, log group). */
  readonly nodeFunction: (id: string, props: NodejsFunctionProps) => NodejsFunction;
  readonly entry: string;
  /** Powertools variables shared by every function. */
  readonly environment: Record<string, string>;
}

/**
 * LiveChat's `chat_deactivated` webhook on AWS (docs/webhooks.md): a public function URL (LiveChat
 * signs nothing and sends no AWS credentials, so the URL has no IAM auth: the body's `secret_key`,
 * checked in constant time against the secret here, is the authentication) in front of a receiver
 * that only queues chat tasks on the worker's queue. The receiver holds no S3 permission, reads only
 * its own secret, and is bounded by reserved concurrency.
 */
export class WebhookReceiver extends Construct {
  readonly function: NodejsFunction;
  readonly url: lambda.FunctionUrl;
  readonly secret: secretsmanager.Secret;
  readonly refusalsAlarm: cloudwatch.Alarm;
  /** The planner's nightly doctor found the webhook not registered, not enabled, or the secret not set. */
  readonly registrationAlarm: cloudwatch.Alarm;
  /** The dashboard's webhooks row: deliveries by outcome, threads archived, end-to-lake delay, the receiver's answers. */
  readonly dashboardWidgets: cloudwatch.IWidget[];

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    const { config, queue, topic } = props;
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        'secret_key of the LiveChat chat_deactivated webhook (generated; register the webhook with it: npm run webhooks -- register --secret-id <this secret>).',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: removalPolicyOf(config),
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is the secret_key of a registered LiveChat webhook: a registration cannot be edited, so a new value needs unregister + register (docs/webhooks.md), which a rotation Lambda cannot do without LiveChat admin credentials.',
    });

    this.function = props.nodeFunction('WebhookReceiver', {
      entry: props.entry,
      description: "Receives LiveChat's chat_deactivated webhook and queues one chat task per thread.",
      timeout: Duration.seconds(5),
      memorySize: 256,
      environment: {
        ...props.environment,
        QUEUE_URL: queue.queueUrl,
        WEBHOOK_SECRET_ID: this.secret.secretArn,
        TIME_ZONE: config.timeZone,
      },
    });
    const cfn = this.function.node.defaultChild as lambda.CfnFunction;
    cfn.reservedConcurrentExecutions = config.webhookReceiverConcurrency;
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
    );
    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });

    const custom = (metricName: string, label?: string, statistic = 'Sum') =>
      new cloudwatch.Metric({
        namespace: config.metricsNamespace,
        metricName,
        dimensionsMap: { service: config.serviceName },
        statistic,
        period: Duration.minutes(5),
        ...(label ? { label } : {}),
      });
    const refused = custom('WebhookRefused');
    this.refusalsAlarm = new cloudwatch.Alarm(this, 'WebhookRefusals', {
      alarmName: `${Stack.of(this).stackName}-WebhookRefusals`,
      metric: refused,
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The webhook receiver refused deliveries (wrong or missing secret_key): the registered webhook and the secret disagree, or someone else posts to the URL. Runbook: ${RUNBOOK_PATH}#${runbookAnchor('WebhookRefusals')}`,
    });
    this.refusalsAlarm.addAlarmAction(new SnsAction(topic));
    this.refusalsAlarm.addOkAction(new SnsAction(topic));

    // The planner's doctor: the receiver's URL and secret, and the app whose webhooks it lists.
    props.planner.addEnvironment('WEBHOOK_URL', this.url.url);
    props.planner.addEnvironment('WEBHOOK_SECRET_ID', this.secret.secretArn);
    if (config.webhookOwnerClientId)
      props.planner.addEnvironment('WEBHOOK_OWNER_CLIENT_ID', config.webhookOwnerClientId);
    props.planner.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secret.secretArn] }),
    );
    // Hourly and no OK notification: the planner counts it once a night; the next night's check tells.
    this.registrationAlarm = new cloudwatch.Alarm(this, 'WebhookNotRegistered', {
      alarmName: `${Stack.of(this).stackName}-WebhookNotRegistered`,
      metric: custom('WebhookCheckFailed').with({ period: Duration.hours(1) }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `The planner's doctor found the chat_deactivated webhook not registered for the receiver's URL, not enabled on the license, or the receiver's secret unreadable: no thread reaches the lake before the night. Runbook: ${RUNBOOK_PATH}#${runbookAnchor('WebhookNotRegistered')}`,
    });
    this.registrationAlarm.addAlarmAction(new SnsAction(topic));

    const receiver = this.function;
    this.dashboardWidgets = [
      new cloudwatch.GraphWidget({
        title: 'Webhook deliveries',
        left: [
          custom('WebhookAccepted', 'Accepted (chat task queued)'),
          refused.with({ label: 'Refused (wrong or missing secret_key)' }),
          custom('WebhookIgnored', 'Ignored (other actions)'),
          custom('WebhookInvalid', 'Invalid (bad body or ids, over 1 MB)'),
        ],
        leftAnnotations: [{ value: 0, label: 'any refusal: alarm WebhookRefusals' }],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Webhook threads written to the lake',
        left: [custom('WebhookChatsArchived', 'Threads written (get_chat → lake)')],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: "Thread's end → its row in the lake (s)",
        left: [
          custom('WebhookEndToLakeSeconds', 'p50', 'p50'),
          custom('WebhookEndToLakeSeconds', 'p95', 'p95'),
          custom('WebhookEndToLakeSeconds', 'max', 'Maximum'),
        ],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Webhook receiver answers',
        left: [
          receiver.metricDuration({ period: Duration.minutes(5), statistic: 'p99', label: 'Answer time p99 (ms)' }),
        ],
        right: [
          receiver.metricErrors({ period: Duration.minutes(5), statistic: 'Sum', label: 'Errors' }),
          receiver.metricThrottles({
            period: Duration.minutes(5),
            statistic: 'Sum',
            label: 'Throttled (429: over the reserved concurrency, LiveChat retries)',
          }),
        ],
        width: 6,
      }),
    ];
  }
}
