import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '#handlers/handler-config.ts';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { type ArchiverConfigInput, CONTEXT_KEY, ConfigError, parseConfig } from '#infra/config.ts';
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
  return {
    dayCompletenessSql: dayCompleteness.Properties.QueryString as string,
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
    synthesized = synth({ retentionDays: 400, redact });
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
