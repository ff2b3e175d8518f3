import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { cdkJsonContext } from '#infra/archiver-app.ts';
import { CONTEXT_KEY, ConfigError, configFromContext, parseConfig } from '#infra/config.ts';

const DEFAULTS = {
  scheduleCron: 'cron(30 4 * * ? *)',
  athenaResultsExpirationDays: 7,
  timeZone: 'UTC',
  lookbackDays: 3,
  settleHours: 2,
  maxRangeDays: 1200,
  filters: {},
  workerConcurrency: 4,
  batchSize: 5,
  maxBatchingWindowSeconds: 0,
  workerTimeoutSeconds: 60,
  workerMemoryMb: 512,
  requestTimeoutMs: 20_000,
  maxAttempts: 5,
  maxReceiveCount: 5,
  apiUrl: 'https://api.livechatinc.com',
  projectionStart: '2020-01-01',
  bytesScannedCutoffBytes: 2_000_000_000,
  noncurrentVersionExpirationDays: 90,
  logRetentionDays: 30,
  removalPolicy: 'retain',
  metricsNamespace: 'LivechatArchiver',
  tracing: false,
};

describe('parseConfig', () => {
  it('fills in the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject(DEFAULTS);
    expect(config.bucketNamePrefix).toBeUndefined();
    expect(config.alarmEmail).toBeUndefined();
    expect(config.secretName).toBeUndefined();
    expect(config.intelligentTieringAfterDays).toBeUndefined();
  });

  it('keeps cdk.json context and schema defaults in step', () => {
    expect(parseConfig(cdkJsonContext()[CONTEXT_KEY])).toEqual(parseConfig({}));
  });

  it('coerces the strings cdk -c passes', () => {
    const config = parseConfig({
      workerConcurrency: '8',
      tracing: 'true',
      filters: '{"group":2,"type":"chat"}',
      settleHours: '1.5',
    });
    expect(config).toMatchObject({
      workerConcurrency: 8,
      tracing: true,
      filters: { group: 2, type: 'chat' },
      settleHours: 1.5,
    });
  });

  it.each([
    [{ workerConcurrency: 1 }, 'livechatArchiver.workerConcurrency: must be at least 2'],
    [{ maxReceiveCount: 3 }, 'livechatArchiver.maxReceiveCount: must be at least 5'],
    [{ batchSize: 11 }, 'livechatArchiver.batchSize: Too big'],
    [{ timeZone: 'Mars/Olympus' }, 'livechatArchiver.timeZone: must be an IANA time zone'],
    [
      { scheduleCron: 'rate(1 day)' },
      'livechatArchiver.scheduleCron: must be an EventBridge Scheduler cron expression',
    ],
    [
      { scheduleCron: 'cron(30 2 * * ?)' },
      'livechatArchiver.scheduleCron: must be an EventBridge Scheduler cron expression',
    ],
    [{ apiUrl: 'http://api.livechatinc.com' }, 'livechatArchiver.apiUrl: must be an https URL'],
    [{ alarmEmail: 'ops' }, 'livechatArchiver.alarmEmail: must be an email address'],
    [{ projectionStart: '2020-02-30' }, 'livechatArchiver.projectionStart: must be a calendar date'],
    [{ projectionStart: '01/01/2020' }, 'livechatArchiver.projectionStart: must be a date as yyyy-MM-dd'],
    [{ bytesScannedCutoffBytes: 1000 }, 'livechatArchiver.bytesScannedCutoffBytes: must be at least 10000000'],
    [
      { logRetentionDays: 31 },
      'livechatArchiver.logRetentionDays: must be one of the CloudWatch Logs retention values',
    ],
    [{ removalPolicy: 'snapshot' }, 'livechatArchiver.removalPolicy: Invalid option'],
    [{ bucketNamePrefix: 'Acme_Lake' }, 'livechatArchiver.bucketNamePrefix: must be 3-40 lowercase letters'],
    [{ filters: { group: 'support' } }, 'livechatArchiver.filters.group'],
    [{ filters: { unknown: 1 } }, 'livechatArchiver.filters: Unrecognized key: "unknown"'],
    [
      { workerTimeoutSeconds: 10, requestTimeoutMs: 10_000 },
      'livechatArchiver.requestTimeoutMs: must be shorter than workerTimeoutSeconds (10 s)',
    ],
    [{ workerConcurency: 4 }, 'livechatArchiver: Unrecognized key: "workerConcurency"'],
    [{ lookbackDays: 'three' }, 'livechatArchiver.lookbackDays: Invalid input: expected number, received string'],
    [
      { maxBatchingWindowSeconds: '' },
      'livechatArchiver.maxBatchingWindowSeconds: Invalid input: expected number, received string',
    ],
    [{ tracing: 'yes' }, 'livechatArchiver.tracing: Invalid input: expected boolean, received string'],
  ])('rejects %j', (raw, message) => {
    expect(() => parseConfig(raw)).toThrowError(ConfigError);
    expect(() => parseConfig(raw)).toThrowError(message);
  });

  it('lists every problem at once', () => {
    expect(() => parseConfig({ batchSize: 0, timeZone: 'Nowhere' })).toThrowError(
      /Invalid livechatArchiver config \(cdk.json context or -c\):\n {2}livechatArchiver\.timeZone: .*\n {2}livechatArchiver\.batchSize: /,
    );
  });
});

describe('configFromContext', () => {
  it('merges -c livechatArchiver.<key> overrides over the context object', () => {
    const app = new App({
      context: {
        [CONTEXT_KEY]: { timeZone: 'Europe/Warsaw', workerConcurrency: 6 },
        [`${CONTEXT_KEY}.workerConcurrency`]: '2',
        [`${CONTEXT_KEY}.alarmEmail`]: 'ops@example.com',
      },
    });
    expect(configFromContext(app.node)).toMatchObject({
      timeZone: 'Europe/Warsaw',
      workerConcurrency: 2,
      alarmEmail: 'ops@example.com',
      lookbackDays: 3,
    });
  });

  it('accepts the whole object as a JSON string', () => {
    const app = new App({
      context: {
        [CONTEXT_KEY]: '{"removalPolicy":"destroy","alarmTopicArn":"arn:aws:sns:eu-west-1:123456789012:ops"}',
      },
    });
    expect(configFromContext(app.node).removalPolicy).toBe('destroy');
  });

  it('refuses a deployment whose alarms reach nobody, in one line naming both settings', () => {
    const app = new App({ context: { [CONTEXT_KEY]: {} } });
    expect(() => configFromContext(app.node)).toThrowError(ConfigError);
    expect(() => configFromContext(app.node)).toThrowError(
      /^Set livechatArchiver\.alarmEmail .* or livechatArchiver\.alarmTopicArn [^\n]*$/,
    );
    const withTopic = new App({
      context: { [`${CONTEXT_KEY}.alarmTopicArn`]: 'arn:aws:sns:eu-west-1:123456789012:pager' },
    });
    expect(configFromContext(withTopic.node).alarmTopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:pager');
  });

  it.each([
    ['Europe/Warsaw', 'cron(30 2 * * ? *)', '02:30'],
    ['America/New_York', 'cron(30 2 * * ? *)', '02:30'],
    ['Europe/London', 'cron(0 1 * * ? *)', '01:00'],
    ['Australia/Sydney', 'cron(15 2 * * ? *)', '02:15'],
  ])('refuses a nightly time %s skips when clocks go forward (%s)', (timeZone, scheduleCron, time) => {
    expect(() => parseConfig({ timeZone, scheduleCron })).toThrowError(
      new RegExp(`livechatArchiver\\.scheduleCron: runs at ${time}, which ${timeZone} skips when clocks go forward`),
    );
  });

  it.each([
    ['Europe/Warsaw', 'cron(30 4 * * ? *)'],
    ['Europe/London', 'cron(0 2 * * ? *)'],
    ['America/New_York', 'cron(30 1 * * ? *)'],
    ['UTC', 'cron(30 2 * * ? *)'],
    ['Europe/Warsaw', 'cron(0/30 * * * ? *)'],
  ])('accepts a time %s never skips (%s), and the default everywhere', (timeZone, scheduleCron) => {
    expect(parseConfig({ timeZone, scheduleCron }).scheduleCron).toBe(scheduleCron);
    expect(parseConfig({ timeZone }).scheduleCron).toBe('cron(30 4 * * ? *)');
  });

  it('rejects a context value that is not an object', () => {
    const app = new App({ context: { [CONTEXT_KEY]: '[1]' } });
    expect(() => configFromContext(app.node)).toThrowError('livechatArchiver context must be an object');
  });
});
