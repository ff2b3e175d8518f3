import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchiverStack } from '#infra/archiver-stack.ts';
import { parseConfig } from '#infra/config.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';
import { logicalId, synthStack } from '#test/support/synth-stack.ts';

function resourceOf(template: Template, id: string): Record<string, any> {
  const resource = template.toJSON()['Resources'][id];
  if (!resource) throw new Error(`no resource ${id}`);
  return resource;
}

/** Every action an IAM policy attached to `roleId` allows. */
function actionsOf(template: Template, roleId: string): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy['Properties']['Roles']).includes(roleId))
    .flatMap((policy) => policy['Properties']['PolicyDocument']['Statement'] as Array<{ Action: string | string[] }>)
    .flatMap((statement) => [statement.Action].flat());
}

describe('stack with webhooks: true (source v3.6)', () => {
  let stack: ArchiverStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthStack({
      source: 'v3.6',
      webhooks: true,
      webhookReceiverConcurrency: 7,
      webhookOwnerClientId: 'a1b2c3d4e5f6',
    }));
  });

  it("tells the planner's doctor the receiver's URL, its secret and the app, and lets it read only that secret", () => {
    const planner = resourceOf(template, logicalId(stack.functions.planner));
    expect(planner['Properties']['Environment']['Variables']).toMatchObject({
      WEBHOOK_URL: { 'Fn::GetAtt': [logicalId(stack.webhooks!.url), 'FunctionUrl'] },
      WEBHOOK_SECRET_ID: { Ref: logicalId(stack.webhooks!.secret) },
      WEBHOOK_OWNER_CLIENT_ID: 'a1b2c3d4e5f6',
    });
    const role = logicalId(stack.functions.planner.role!);
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy['Properties']['Roles']).includes(role))
      .flatMap((policy) => policy['Properties']['PolicyDocument']['Statement'] as Array<Record<string, unknown>>);
    const webhookSecret = JSON.stringify({ Ref: logicalId(stack.webhooks!.secret) });
    const readsWebhookSecret = statements.filter((statement) =>
      [statement['Resource']].flat().some((resource) => JSON.stringify(resource) === webhookSecret),
    );
    expect(statements.length, JSON.stringify(statements)).toBeGreaterThan(0);
    expect(readsWebhookSecret.map((statement) => statement['Action'])).toEqual(['secretsmanager:GetSecretValue']);
  });

  it("alarms when the planner's doctor finds the webhook not registered (WebhookCheckFailed), without an OK notification", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'LivechatArchiver-WebhookNotRegistered',
      MetricName: 'WebhookCheckFailed',
      Namespace: 'LivechatArchiver',
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
      OKActions: Match.absent(),
      AlarmDescription: Match.stringLikeRegexp(' Runbook: docs/runbook\\.md#webhooknotregistered$'),
    });
  });

  it('puts the receiver behind a function URL without IAM auth (the body secret_key authenticates)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack.webhooks!.function), 'Arn'] },
    });
    template.hasOutput('WebhookUrl', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionUrl'] } });
  });

  it('bounds the receiver with reserved concurrency and a short timeout, and tells it the queue, its secret and the zone', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      ReservedConcurrentExecutions: 7,
      Timeout: 5,
      Environment: {
        Variables: Match.objectLike({
          QUEUE_URL: { Ref: logicalId(stack.pages.queue) },
          WEBHOOK_SECRET_ID: { Ref: logicalId(stack.webhooks!.secret) },
          TIME_ZONE: 'UTC',
        }),
      },
    });
  });

  it('gives the receiver no S3 permission: only sqs:SendMessage on the queue and its own secret', () => {
    const role = logicalId(stack.webhooks!.function.role!);
    const actions = actionsOf(template, role);
    expect(actions.filter((action) => action.startsWith('s3:'))).toEqual([]);
    expect(new Set(actions.filter((action) => !action.startsWith('logs:')))).toEqual(
      new Set(['sqs:SendMessage', 'secretsmanager:GetSecretValue']),
    );
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy['Properties']['Roles']).includes(role))
      .flatMap((policy) => policy['Properties']['PolicyDocument']['Statement'] as Array<Record<string, unknown>>);
    const secretStatement = statements.find((statement) => statement['Action'] === 'secretsmanager:GetSecretValue');
    expect(secretStatement?.['Resource']).toEqual({ Ref: logicalId(stack.webhooks!.secret) });
  });

  it('generates the webhook secret in Secrets Manager and outputs its ARN', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
    });
    template.hasOutput('WebhookSecretArn', { Value: { Ref: logicalId(stack.webhooks!.secret) } });
  });

  it('alarms on any refused delivery, to the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WebhookRefused',
      Namespace: 'LivechatArchiver',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: logicalId(stack.monitoring.topic) }],
      AlarmName: 'LivechatArchiver-WebhookRefusals',
      AlarmDescription: Match.stringLikeRegexp(' Runbook: docs/runbook\\.md#webhookrefusals$'),
    });
  });
});

/** The dashboard's widgets, its body's tokens (ARNs, names) read as `<token>`. */
function dashboardWidgets(template: Template): Array<{ properties: Record<string, unknown> }> {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]!['Properties']['DashboardBody'] as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  return (JSON.parse(text) as { widgets: Array<{ properties: Record<string, unknown> }> }).widgets;
}

describe('dashboard with webhooks: true', () => {
  it('has a webhooks row: deliveries by outcome, threads written, end-to-lake delay, receiver answer time and throttles', () => {
    const { template } = synthStack({ source: 'v3.6', webhooks: true });
    const widgets = dashboardWidgets(template);
    const byTitle = new Map(widgets.map((widget) => [widget.properties['title'], widget.properties]));
    const metricsOf = (title: string) => {
      const properties = byTitle.get(title);
      expect(properties, title).toBeDefined();
      return JSON.stringify(properties!['metrics']);
    };
    const deliveries = metricsOf('Webhook deliveries');
    for (const metric of ['WebhookAccepted', 'WebhookRefused', 'WebhookIgnored', 'WebhookInvalid']) {
      expect(deliveries).toContain(`["LivechatArchiver","${metric}","service","livechat-archiver"`);
    }
    expect(metricsOf('Webhook threads written to the lake')).toContain('"WebhookChatsArchived"');
    const delay = metricsOf("Thread's end → its row in the lake (s)");
    for (const stat of ['"p50"', '"p95"', '"Maximum"']) expect(delay).toContain(stat);
    expect(delay).toContain('"WebhookEndToLakeSeconds"');
    const answers = metricsOf('Webhook receiver answers');
    for (const metric of ['"Duration"', '"Errors"', '"Throttles"']) expect(answers).toContain(metric);
    expect(answers).toContain('"p99"');
  });

  it('has no webhooks row without webhooks; the alarm status widget gains the two webhook alarms with them', () => {
    const alarmsShown = (template: Template) =>
      (dashboardWidgets(template).find((widget) => widget.properties['title'] === 'Alarms')?.properties['alarms'] as
        | unknown[]
        | undefined) ?? [];
    const without = synthStack({ source: 'v3.6' }).template;
    expect(JSON.stringify(dashboardWidgets(without))).not.toContain('Webhook');
    const withWebhooks = synthStack({ source: 'v3.6', webhooks: true }).template;
    expect(alarmsShown(withWebhooks)).toHaveLength(alarmsShown(without).length + 2);
    expect(alarmsShown(withWebhooks)).toHaveLength(
      Object.keys(withWebhooks.findResources('AWS::CloudWatch::Alarm')).length,
    );
  });
});

describe('webhooks config', () => {
  it('is off by default: no function URL', () => {
    const { template, stack } = synthStack({ source: 'v3.6' });
    template.resourceCountIs('AWS::Lambda::Url', 0);
    expect(stack.webhooks).toBeUndefined();
  });

  it('refuses webhooks with the v2 source', () => {
    expect(() => parseConfig({ ...ALARMS_TO, webhooks: true })).toThrow(
      /livechatArchiver\.webhooks: needs source v3\.6/,
    );
  });
});
