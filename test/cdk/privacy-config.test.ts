import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '#handlers/handler-config.ts';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { type ArchiverConfigInput, CONTEXT_KEY, ConfigError, parseConfig } from '#infra/config.ts';
import { LakeBucket } from '#infra/constructs/lake-bucket.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';

function synth(config: ArchiverConfigInput) {
  const { app, stack } = createArchiverApp({ nag: false, context: { [CONTEXT_KEY]: { ...ALARMS_TO, ...config } } });
  const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
  const lakeId = Stack.of(stack).resolve((stack.lake.bucket.node.defaultChild as CfnElement).logicalId) as string;
  const workerId = Stack.of(stack).resolve((stack.functions.worker.node.defaultChild as CfnElement).logicalId);
  const resources = template.toJSON().Resources;
  const policyActions = Object.values(resources as Record<string, any>)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .flatMap((statement: { Action: string | string[] }) => [statement.Action].flat());
  const dayCompleteness = Object.values(resources as Record<string, any>).find(
    (resource) => resource.Type === 'AWS::Athena::NamedQuery' && resource.Properties.Name === 'day_completeness',
  );
  const glueTables = Object.values(resources as Record<string, any>)
    .filter((resource) => resource.Type === 'AWS::Glue::Table')
    .map((resource) => resource.Properties.TableInput);
  const workerStatements = Object.values(resources as Record<string, any>)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
  return {
    dayCompletenessSql: dayCompleteness.Properties.QueryString as string,
    glueTables,
    workerStatements,
    policyActions,
    rules: resources[lakeId].Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>,
    workerEnv: resources[workerId].Properties.Environment.Variables as Record<string, unknown>,
  };
}

describe('privacy settings in cdk.json', () => {
  const redact = { fields: ['visitor.ip', 'visitor_ip'], mask: ['cards', 'emails'] as Array<'cards' | 'emails'> };
  let synthesized: ReturnType<typeof synth>;
  // One synth (bundling both functions is slow on a shared machine); the defaults (no expiry,
  // no REDACT) are asserted by archiver-stack.test.ts and below through parseConfig.
  beforeAll(() => {
    synthesized = synth({
      retentionDays: 400,
      redact,
      attachmentHosts: ['cdn.livechat-files.com', '*.example.com'],
      maxAttachmentMb: 10,
    });
  });

  it('retentionDays expires chat files and their noncurrent copies; unset keeps them forever', () => {
    expect(synthesized.rules).toContainEqual({
      Id: 'retention-chats',
      Prefix: 'chats/',
      ExpirationInDays: 400,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Status: 'Enabled',
    });
    expect(parseConfig({}).retentionDays).toBeUndefined();
  });

  it('retentionDays shorter than the pass records’ 30 days expires them, drift claims included, with the chats; longer keeps 30', () => {
    // The lake bucket alone (no function bundling): its lifecycle rules for a given config.
    const rulesFor = (config: ArchiverConfigInput) => {
      const stack = new Stack(new App(), 'Lake');
      const accessLogs = s3.Bucket.fromBucketName(stack, 'Logs', 'access-logs');
      new LakeBucket(stack, 'Lake', { config: parseConfig({ ...ALARMS_TO, ...config }), accessLogs });
      const [bucket] = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket'));
      return bucket!.Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
    };
    const records = (rules: Array<Record<string, unknown>>) =>
      rules.filter((rule) => String(rule['Id']).endsWith('-records'));
    const short = rulesFor({ retentionDays: 7 });
    expect(records(short)).toEqual(
      ['passes', 'settled', 'slice-reads', 'day-merges', 'drift-claims'].map((name) => ({
        Id: `expire-${name}-records`,
        Prefix: `manifests/${name}/`,
        ExpirationInDays: 7,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: 'Enabled',
      })),
    );
    // No sooner than the chat files their pass wrote before them.
    expect(short).toContainEqual(expect.objectContaining({ Id: 'retention-chats', ExpirationInDays: 7 }));
    for (const rule of records(rulesFor({ retentionDays: 400 }))) expect(rule['ExpirationInDays']).toBe(30);
    for (const rule of records(rulesFor({ retentionDays: 7, lookbackDays: 10 })))
      expect(rule['ExpirationInDays']).toBe(7);
  });

  it('retentionDays expires attachments (files/ and their chat_files rows) as it expires chats', () => {
    for (const prefix of ['files/', 'chat-files/']) {
      expect(synthesized.rules).toContainEqual({
        Id: `retention-${prefix.slice(0, -1)}`,
        Prefix: prefix,
        ExpirationInDays: 400,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: 'Enabled',
      });
    }
  });

  it('attachments reach the worker (hosts, cap) and the Glue table chat_files_json (the view chat_files reads it) projects dt', () => {
    expect(synthesized.workerEnv['ATTACHMENTS']).toBe('on');
    expect(synthesized.workerEnv['ATTACHMENT_HOSTS']).toBe('cdn.livechat-files.com,*.example.com');
    expect(synthesized.workerEnv['MAX_ATTACHMENT_MB']).toBe('10');
    const table = synthesized.glueTables.find((input) => input.Name === 'chat_files_json');
    expect(table.Parameters['projection.enabled']).toBe('true');
    expect(table.Parameters['projection.dt.type']).toBe('date');
    expect(JSON.stringify(table.StorageDescriptor.Location)).toContain('chat-files/');
    expect(table.StorageDescriptor.Columns.map((column: { Name: string }) => column.Name)).toEqual(
      expect.arrayContaining([
        'chat_id',
        'thread_id',
        'event_id',
        'name',
        'content_type',
        'size',
        'sha256',
        'status',
        'lake_key',
        'url',
        'fetched_at',
      ]),
    );
    // The worker writes attachments under files/ and chat-files/ only.
    const resources = JSON.stringify(synthesized.workerStatements);
    expect(resources).toContain('/files/*');
    expect(resources).toContain('/chat-files/*');
    expect(parseConfig({}).attachments).toBe(true);
    expect(parseConfig({}).attachmentHosts).toEqual(['cdn.livechat-files.com', 'static.livechatinc.com']);
    expect(() => parseConfig({ attachmentHosts: ['http://evil/'] })).toThrow(/attachmentHosts/);
    expect(() => parseConfig({ maxAttachmentMb: 0 })).toThrow(/maxAttachmentMb/);
  });

  it('the worker turns attachments off with ATTACHMENTS=off, and reads hosts and cap once', async () => {
    const { fileArchivingOf } = await import('#handlers/handler-config.ts');
    const env = { BUCKET_NAME: 'lake', QUEUE_URL: 'https://sqs.example.com/q', SECRET_ID: 'secret' };
    expect(fileArchivingOf(loadWorkerConfig({ ...env, ATTACHMENTS: 'off' }))).toBeUndefined();
    expect(fileArchivingOf(loadWorkerConfig(env))).toMatchObject({ filesPerTask: 5, concurrency: 2 });
    expect(() => loadWorkerConfig({ ...env, MAX_ATTACHMENT_MB: '-1' })).toThrow(/MAX_ATTACHMENT_MB/);
  });

  it('the saved day_completeness reads a short day past retentionDays as expired, not missing', () => {
    expect(synthesized.dayCompletenessSql).toContain(`y.dt < CAST(current_date - INTERVAL '400' DAY AS varchar)`);
  });

  it('the worker role cannot erase: no object-version reads or deletes (erasure runs with operator credentials)', () => {
    const actions = synthesized.policyActions;
    expect(actions.length).toBeGreaterThan(0);
    for (const action of ['s3:DeleteObjectVersion', 's3:GetObjectVersion', 's3:ListBucketVersions', 's3:*']) {
      expect(actions, action).not.toContain(action);
    }
  });

  it('redact reaches the worker as REDACT, validated once at synth', () => {
    expect(synthesized.workerEnv['REDACT']).toBe(JSON.stringify(redact));
    expect(parseConfig({}).redact).toBeUndefined();
    expect(parseConfig({ redact: '{"mask":["phones"]}' }).redact).toEqual({ mask: ['phones'] });
    expect(() => parseConfig({ redact: { mask: ['ssn'] } })).toThrow(ConfigError);
    expect(() => parseConfig({ redact: { fields: ['visitor ip'] } })).toThrow(/livechatArchiver\.redact\.fields\.0/);
    expect(() => parseConfig({ retentionDays: 0 })).toThrow(/livechatArchiver\.retentionDays/);
  });

  it('the worker reads REDACT once at cold start; a bad value names the variable', () => {
    const env = { BUCKET_NAME: 'lake', QUEUE_URL: 'https://sqs.example.com/q', SECRET_ID: 'secret' };
    expect(loadWorkerConfig({ ...env, REDACT: '{"fields":["visitor.ip"]}' }).REDACT).toEqual({
      fields: ['visitor.ip'],
    });
    expect(loadWorkerConfig(env).REDACT).toBeUndefined();
    expect(() => loadWorkerConfig({ ...env, REDACT: 'cards' })).toThrow('REDACT is not JSON');
    expect(() => loadWorkerConfig({ ...env, REDACT: '{"mask":["ssn"]}' })).toThrow(/REDACT\.mask/);
  });
});
