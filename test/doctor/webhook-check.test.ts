import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { registrationCommand } from '#cli/webhooks-registration-command.ts';
import { nightlyDoctor, stopOnFailedCheck } from '#handlers/nightly-doctor.ts';
import { type RunningV36Simulator, startV36Simulator, type V36SimulatorOptions } from '#simulator/v36-simulator.ts';
import type { SimulatedWebhook } from '#simulator/webhook-configuration.ts';
import { capture } from '#test/support/cli-runner.ts';
import { documented } from '#test/support/documented-archives.ts';
import { DATA, NOW, runDoctorCli } from './doctor-support.ts';

/**
 * The doctor's `webhooks` check (issue 29) against the v3.6 simulator, which serves the Configuration
 * API v3.6 webhook methods as documented (src/pages/management/configuration-api/index.mdx "List
 * Webhooks", "Get License Webhooks State", "Register Webhook"; answers shaped as
 * payloads/management/v3.6/configuration-api/responses/webhooks/listWebhooks.json,
 * getWebhooksState.json and registerWebhook.json).
 */
const RESPONSES = 'payloads/management/v3.6/configuration-api/responses/webhooks/';
const APP = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const RECEIVER = 'https://hooks.example.com/webhooks/livechat';
const SECRET = 'webhook-secret-never-printed-5f3a9c';
let sim: RunningV36Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(options: Partial<V36SimulatorOptions> = {}) {
  sim = await startV36Simulator({ ...DATA, chatsPerDay: 20, ...options });
  return sim;
}

const env = (extra: Record<string, string | undefined> = { LIVECHAT_WEBHOOK_SECRET: SECRET }) => ({
  LIVECHAT_ACCOUNT_ID: sim!.accountId,
  LIVECHAT_PAT: sim!.token,
  ...extra,
});

const doctor = (extra?: Record<string, string | undefined>, url = RECEIVER, owner = APP) =>
  runDoctorCli(
    ['--source', 'v3.6', '--api-url', sim!.url, '--webhook-url', url, '--owner-client-id', owner],
    env(extra),
  );

const hook = (fields: Partial<SimulatedWebhook> = {}): SimulatedWebhook => ({
  id: 'd0c70rwebh00k',
  url: RECEIVER,
  action: 'chat_deactivated',
  type: 'license',
  owner_client_id: APP,
  secret_key: SECRET,
  ...fields,
});

describe('doctor: the webhooks check (--webhook-url, --owner-client-id)', () => {
  it('fails with the register command while nothing is registered; after npm run webhooks -- register it is ok', async () => {
    await simulator();
    const before = await doctor();
    expect(before.code, before.stdout).toBe(1);
    expect(before.lines.status['webhooks']).toBe('failed');
    expect(before.lines.line['webhooks']).toBe(
      `failed  webhooks      no chat_deactivated license webhook of app ${APP} posts to ${RECEIVER} (0 webhook(s) registered for the app) → npm run webhooks -- register --url ${RECEIVER} --owner-client-id ${APP}`,
    );
    // Every other check still ran and passed: only the registration is missing.
    expect(Object.entries(before.lines.status).filter(([, status]) => status === 'failed')).toEqual([
      ['webhooks', 'failed'],
    ]);

    const stdout = capture();
    const stderr = capture();
    const registered = await registrationCommand(
      'register',
      ['--url', RECEIVER, '--owner-client-id', APP, '--api-url', sim!.url],
      { env: env(), stdout: stdout.stream, stderr: stderr.stream },
    );
    expect(registered, stderr.text()).toBe(0);
    const [stored] = sim!.webhooks();
    expect(stored).toMatchObject({ url: RECEIVER, action: 'chat_deactivated', type: 'license', secret_key: SECRET });

    const after = await doctor();
    expect(after.code, after.stdout).toBe(0);
    expect(after.lines.line['webhooks']).toBe(
      `ok      webhooks      chat_deactivated license webhook ${stored!.id} of app ${APP} → ${RECEIVER}, enabled on the license, secret set (LiveChat does not return the registered one: a mismatch shows as refused deliveries)`,
    );
    for (const output of [before.stdout, before.stderr, after.stdout, after.stderr, stdout.text()]) {
      expect(output).not.toContain(SECRET);
    }
  });

  it('fails when the app is not installed (license webhooks disabled), naming the fix', async () => {
    await simulator({ webhooks: [hook()], licenseWebhooksDisabled: [APP] });
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    expect(lines.line['webhooks']).toMatch(
      /^failed +webhooks +chat_deactivated license webhook d0c70rwebh00k .*; the license webhooks of app \S+ are disabled on the license → install the app on the license/,
    );
  });

  it('fails when the webhook posts elsewhere or is a bot webhook, naming the ids to unregister', async () => {
    await simulator({
      webhooks: [
        hook({ id: 'oldurl01', url: 'https://old.example.com/hooks' }),
        hook({ id: 'botwebhook02', type: 'bot' }),
        hook({ id: 'incoming03', action: 'incoming_chat' }),
      ],
    });
    const { code, lines } = await doctor();
    expect(code).toBe(1);
    const line = lines.line['webhooks']!;
    expect(line).toContain('a bot webhook botwebhook02');
    expect(line).toContain('incoming_chat webhook incoming03');
    expect(line).toContain('chat_deactivated webhook oldurl01 → https://old.example.com/hooks');
    expect(line).toMatch(
      /→ npm run webhooks -- unregister --id botwebhook02 \/ --id oldurl01 --owner-client-id \S+, then npm run webhooks -- register --url/,
    );
  });

  it("warns about LiveChat's documented example webhook: its chat_presence filter holds back other chats", async () => {
    // The documented listWebhooks.json entry, registered as it is listed (with a secret the listing never shows).
    const [example] = documented(`${RESPONSES}listWebhooks.json`) as unknown as SimulatedWebhook[];
    await simulator({ webhooks: [{ ...example!, secret_key: SECRET }] });
    const { code, lines } = await doctor(undefined, example!.url, example!.owner_client_id);
    expect(code).toBe(0);
    expect(lines.line['webhooks']).toMatch(
      /^warning +webhooks +chat_deactivated license webhook pqi8oasdjahuakndw9nsad9na .* has filters \(chat_presence\): only matching chats are delivered/,
    );
  });

  it('fails without the receiver secret, warns on a short one; the listing never carries a secret_key', async () => {
    await simulator({ webhooks: [hook()] });
    const unset = await doctor({ LIVECHAT_WEBHOOK_SECRET: undefined });
    expect(unset.code).toBe(1);
    expect(unset.lines.line['webhooks']).toMatch(/the receiver's secret_key is not set \(LIVECHAT_WEBHOOK_SECRET\)/);
    const short = await doctor({ LIVECHAT_WEBHOOK_SECRET: 'dev' });
    expect(short.code).toBe(0);
    expect(short.lines.line['webhooks']).toMatch(/^warning .*shorter than 16 characters/);
    const listed = await fetch(`${sim!.url}/v3.6/configuration/action/list_webhooks`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${sim!.accountId}:${sim!.token}`).toString('base64')}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ owner_client_id: APP }),
    });
    const answer = (await listed.json()) as Array<Record<string, unknown>>;
    const documentedKeys = Object.keys((documented(`${RESPONSES}listWebhooks.json`) as unknown as object[])[0]!);
    expect(Object.keys(answer[0]!).every((key) => documentedKeys.includes(key))).toBe(true);
    expect(JSON.stringify(answer)).not.toContain(SECRET);
  });

  it('warns (does not fail) when the token may not read webhooks, naming the scope', async () => {
    await simulator({ webhookConfiguration: 'forbidden' });
    const { code, lines } = await doctor();
    expect(code).toBe(0);
    expect(lines.line['webhooks']).toMatch(
      /^warning +webhooks +the webhooks of app \S+ could not be listed: LiveChat refused the token \(403\) → give the token the scope webhooks\.configuration:rw/,
    );
  });

  it('refuses --webhook-url without --owner-client-id, and with source v2', async () => {
    await simulator();
    const alone = await runDoctorCli(['--source', 'v3.6', '--webhook-url', RECEIVER], env());
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/^error: --webhook-url and --owner-client-id go together/);
    const v2 = await runDoctorCli(['--webhook-url', RECEIVER, '--owner-client-id', APP], env());
    expect(v2.code).toBe(2);
    expect(v2.stderr).toMatch(/^error: --webhook-url needs --source v3\.6/);
  });
});

describe("the planner's webhooks check (stack with webhooks: true)", () => {
  const lines: Array<{ level: string; fields: Record<string, unknown> }> = [];
  const metrics: Array<[string, number]> = [];
  const logger = Object.fromEntries(
    ['info', 'warn', 'error'].map((level) => [
      level,
      (_message: string, fields: Record<string, unknown>) => lines.push({ level, fields }),
    ]),
  ) as unknown as Logger;
  const metricsSink = { addMetric: (name: string, _unit: string, value: number) => metrics.push([name, value]) };
  const planner = (owner: string | undefined, webhookSecret: () => Promise<string | undefined>) =>
    nightlyDoctor(
      {
        SOURCE: 'v3.6',
        API_URL: sim!.url,
        TIME_ZONE: 'UTC',
        LOOKBACK_DAYS: 3,
        BUSY_DAY_THRESHOLD: 2000,
        FILTERS: {},
        WEBHOOK_URL: 'https://abc123.lambda-url.eu-west-1.on.aws/',
        WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSecret-AbCdEf',
        WEBHOOK_OWNER_CLIENT_ID: owner,
      },
      {
        s3: new S3Client({}),
        logger,
        metrics: metricsSink as unknown as Metrics,
        webhookSecret,
        tuning: { baseRetryDelayMs: 5 },
        now: () => NOW,
      },
    );
  const secretText = () => JSON.stringify({ accountId: sim!.accountId, token: sim!.token });

  it('logs a failed webhooks check and counts it in WebhookCheckFailed, but the night goes on', async () => {
    await simulator();
    lines.length = 0;
    metrics.length = 0;
    const report = await planner(APP, async () => SECRET)(secretText());
    const check = lines.find((line) => line.fields['check'] === 'webhooks')!;
    expect(check.level).toBe('error');
    expect(check.fields['fix']).toBe(
      `npm run webhooks -- register --url https://abc123.lambda-url.eu-west-1.on.aws/ --owner-client-id ${APP} --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSecret-AbCdEf`,
    );
    expect(report.verdict).toBe('failed');
    expect(metrics).toEqual([
      ['DoctorChecksFailed', 1],
      ['WebhookCheckFailed', 1],
    ]);
    expect(() => stopOnFailedCheck(report)).not.toThrow();
  });

  it('matches a function URL registered with any path; an unreadable secret fails the check by name, never its value', async () => {
    await simulator({ webhooks: [hook({ url: 'https://abc123.lambda-url.eu-west-1.on.aws/webhooks/livechat' })] });
    lines.length = 0;
    metrics.length = 0;
    const ok = await planner(APP, async () => SECRET)(secretText());
    expect(lines.find((line) => line.fields['check'] === 'webhooks')?.fields['status']).toBe('ok');
    expect(ok.verdict).toBe('ok');
    expect(metrics).toEqual([
      ['DoctorChecksFailed', 0],
      ['WebhookCheckFailed', 0],
    ]);
    lines.length = 0;
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    await planner(APP, () => Promise.reject(denied))(secretText());
    expect(lines.find((line) => line.fields['check'] === 'webhooks')?.fields['summary']).toMatch(
      /the receiver's secret_key is not set \(the secret WebhookSecretArn could not be read: AccessDeniedException\)/,
    );
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('warns when the stack does not name the app (webhookOwnerClientId unset)', async () => {
    await simulator();
    lines.length = 0;
    await planner(undefined, async () => SECRET)(secretText());
    const check = lines.find((line) => line.fields['check'] === 'webhooks')!;
    expect(check.level).toBe('warn');
    expect(check.fields['fix']).toMatch(/cdk\.json "webhookOwnerClientId"/);
  });
});
