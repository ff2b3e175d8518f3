import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { type ArchiverConfigInput, CONTEXT_KEY, ConfigError, parseConfig } from '#infra/config.ts';
import { RUN_MANIFEST_PREFIXES } from '#lake/lake-layout.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';

function workerAndSecret(config: ArchiverConfigInput) {
  const { app, stack } = createArchiverApp({ nag: false, context: { [CONTEXT_KEY]: { ...ALARMS_TO, ...config } } });
  const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
  const resource = stack.functions.worker.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error('the worker has no resource');
  const workerId = stack.resolve(resource.logicalId) as string;
  const worker = template.toJSON().Resources[workerId].Properties;
  const [secret] = Object.values(template.findResources('AWS::SecretsManager::Secret')) as Array<{
    Properties: { Description: string };
  }>;
  const workerRole = stack.resolve((stack.functions.worker.role!.node.defaultChild as CfnElement).logicalId) as string;
  const writable = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: workerRole }]))
    .flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: Array<Record<string, unknown>> } } }).Properties
          .PolicyDocument.Statement,
    )
    .filter((statement) => JSON.stringify(statement['Action']).includes('s3:PutObject'))
    .flatMap((statement) => [statement['Resource']].flat())
    .map((resource) => JSON.stringify(resource).match(/\/((?:[a-z-]+\/)+)\*/)?.[1]);
  return {
    env: worker.Environment.Variables as Record<string, unknown>,
    secretDescription: secret!.Properties.Description,
    writable,
  };
}

describe('cdk.json source switch (v2 | v3.6)', () => {
  it('defaults to v2: the worker reads GET /chats and the secret asks for a PAT, a bearer token or a legacy API key', () => {
    const { env, secretDescription, writable } = workerAndSecret({});
    expect(env).toMatchObject({ SOURCE: 'v2' });
    // Attachments are on by default: their bytes under files/, their rows under chat-files/.
    expect(writable.sort()).toEqual(['chats/', 'files/', 'chat-files/', ...RUN_MANIFEST_PREFIXES].sort());
    expect(env).not.toHaveProperty('BUSY_DAY_THRESHOLD');
    expect(env).not.toHaveProperty('REGION');
    expect(secretDescription).toContain('{"login":"<agent e-mail>","pat":"..."}');
    expect(secretDescription).toContain('archives_read');
    expect(secretDescription).toContain('{"bearerToken":"..."}');
    expect(secretDescription).toContain('{"login":"...","apiKey":"..."}');
  });

  it('region applies to v2 too: the worker sends X-Region', () => {
    expect(workerAndSecret({ region: 'fra' }).env).toMatchObject({ SOURCE: 'v2', REGION: 'fra' });
  });

  it('source v3.6 gives the worker SOURCE, the busy-day threshold and the region, and the secret the v3.6 shape', () => {
    const { env, secretDescription, writable } = workerAndSecret({
      source: 'v3.6',
      region: 'fra',
      busyDayThreshold: 500,
    });
    expect(env).toMatchObject({ SOURCE: 'v3.6', BUSY_DAY_THRESHOLD: '500', REGION: 'fra' });
    // The raw list_archives entries (chat_threads) go under archives/ besides the mapped chats,
    // and what each slice part held under manifests/slice-reads/.
    expect(writable.sort()).toEqual(
      ['archives/', 'chats/', 'files/', 'chat-files/', ...RUN_MANIFEST_PREFIXES, 'manifests/slice-reads/'].sort(),
    );
    expect(secretDescription).toContain('{"accountId":"...","token":"..."}');
    expect(secretDescription).toContain('{"bearerToken":"..."}');
  });

  it('reads the switch from -c strings as cdk passes them', () => {
    expect(parseConfig({ source: 'v3.6', busyDayThreshold: '750' })).toMatchObject({
      source: 'v3.6',
      busyDayThreshold: 750,
    });
  });

  it.each([
    [{ source: 'v4' }, 'livechatArchiver.source'],
    [
      { source: 'v3.6', filters: { type: 'chat' } },
      'livechatArchiver.filters: type have no list_archives (v3.6) equivalent',
    ],
    [{ region: 'Frankfurt!' }, 'livechatArchiver.region: must be a LiveChat data centre'],
    [{ source: 'v3.6', region: 'Frankfurt!' }, 'livechatArchiver.region: must be a LiveChat data centre'],
    [{ source: 'v3.6', busyDayThreshold: 0 }, 'livechatArchiver.busyDayThreshold'],
  ])('refuses %j', (config, message) => {
    expect(() => parseConfig(config)).toThrow(ConfigError);
    expect(() => parseConfig(config)).toThrow(message);
  });
});
