import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArchiverApp } from '#infra/archiver-app.ts';
import type { ArchiverStack } from '#infra/archiver-stack.ts';
import { type ArchiverConfigInput, CONTEXT_KEY } from '#infra/config.ts';
import { nagAttributeRef } from '#infra/nag.ts';
import { RUN_MANIFEST_PREFIXES } from '#lake/lake-layout.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsOf(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** Every AwsSolutions finding, acknowledged or not. */
function rawFindings(app: App): string[] {
  const checks = new AwsSolutionsChecks();
  Object.assign(checks, { isAcknowledged: () => false });
  return checks
    .validateScope(app)
    .violations.map((violation) => violation.ruleName)
    .sort();
}

const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

function synthWithNag(config: ArchiverConfigInput = {}) {
  const { app, stack } = createArchiverApp({
    context: { ...SKIP_BUNDLING, [CONTEXT_KEY]: { ...ALARMS_TO, ...config } },
  });
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'));
  return { app, stack, report };
}

describe.each([
  ['default config', {}],
  ['tracing on, imported secret', { tracing: true, secretName: 'livechat/api', alarmEmail: 'ops@example.com' }],
  ['source v3.6 (the worker also writes archives/)', { source: 'v3.6' }],
  ['source v3.6 with the webhook receiver (function URL, its own secret)', { source: 'v3.6', webhooks: true }],
] as const)('cdk-nag AwsSolutions with %s', (_name, config) => {
  let app: App;
  let stack: ArchiverStack;
  let report: { pluginReports: { pluginName: string; violations: unknown[] }[] };

  beforeAll(() => {
    ({ app, stack, report } = synthWithNag(config));
  });

  it('synthesizes with zero unacknowledged findings', () => {
    const violations = report.pluginReports.flatMap((plugin) => plugin.violations);
    expect(violations).toEqual([]);
  });

  it('acknowledges exactly the findings cdk-nag reports, each with a reason', () => {
    const lake = nagAttributeRef(stack.lake.bucket);
    const expected = [
      ...('secretName' in config ? [] : ['AwsSolutions-SMG4']),
      'AwsSolutions-SQS3',
      `AwsSolutions-IAM5[Resource::${lake}/chats/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/files/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/chat-files/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/manifests/*]`,
      ...RUN_MANIFEST_PREFIXES.map((prefix) => `AwsSolutions-IAM5[Resource::${lake}/${prefix}*]`),
      ...('source' in config
        ? [
            `AwsSolutions-IAM5[Resource::${lake}/archives/*]`,
            `AwsSolutions-IAM5[Resource::${lake}/manifests/slice-reads/*]`,
          ]
        : []),
      // The compaction state machine (X-Ray and log delivery) and its compactor function; the prefixes
      // Athena reads and writes with the state machine's role and the compactor lists and deletes.
      'AwsSolutions-IAM5[Resource::*]',
      `AwsSolutions-IAM5[Resource::${nagAttributeRef(stack.compaction.compactor)}:*]`,
      `AwsSolutions-IAM5[Resource::${nagAttributeRef(stack.athena.resultsBucket)}/compaction/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/compacted/chats/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/compaction-staging/chats/*]`,
      // chat_files (attachments on in every case here) is compacted with its day.
      `AwsSolutions-IAM5[Resource::${lake}/compacted/chat-files/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/compaction-staging/chat-files/*]`,
      `AwsSolutions-IAM5[Resource::${lake}/manifests/erasures/*]`,
      ...('source' in config
        ? [
            `AwsSolutions-IAM5[Resource::${lake}/compacted/archives/*]`,
            `AwsSolutions-IAM5[Resource::${lake}/compaction-staging/archives/*]`,
          ]
        : []),
    ];
    const unique = [...new Set(expected)].sort();
    const acknowledged = acknowledgementsOf(app);
    expect([...new Set(acknowledged.map((ack) => ack.id))].sort()).toEqual(unique);
    expect([...new Set(rawFindings(app))].sort()).toEqual(unique);
    for (const ack of acknowledged) expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(40);
    expect(acknowledged.every((ack) => ack.path !== stack.node.path && ack.path !== app.node.path)).toBe(true);
  });
});

describe('an unacknowledged finding', () => {
  it('fails synthesis', () => {
    const { app, stack } = createArchiverApp({
      context: { ...SKIP_BUNDLING, [`${CONTEXT_KEY}.alarmEmail`]: ALARMS_TO.alarmEmail },
    });
    new iam.Role(stack, 'CarelessRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }),
    );
    expect(() => app.synth()).toThrowError(/CarelessRole[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/);
  });
});
