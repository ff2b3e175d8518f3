import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { useBundledHandler } from '#test/support/lambda-bundle.ts';
import { captureJsonLogs, lambdaContext, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * The bundled planner of a stack with webhooks (issue 29): its doctor lists the app's webhooks
 * against the v3.6 simulator's Configuration API methods, reads the receiver's secret from its own
 * Secrets Manager secret, and a failed `webhooks` check leaves the night to run.
 */
type Handler = (event: unknown, context: Context) => Promise<unknown>;
const APP = 'f00dfeed0123456789abcdef';
const RECEIVER = 'https://abc123xyz.lambda-url.eu-west-1.on.aws/';
const WEBHOOK_SECRET_ID = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:WebhookSecret-AbCdEf';
const WEBHOOK_SECRET = 'Zq7Xn2Lw9Pv4Kt6Hs1Jd8Fg3Bm5Rc0Ya4Ue7Io2Wq9Er6Ty1';

const aws = lambdaAwsMocks();
let sim: RunningV36Simulator;

beforeAll(async () => {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  sim = await startV36Simulator({ from: '2026-01-01', to: yesterday, chatsPerDay: 10 });
  stubFunctionEnv(sim.url, {
    SOURCE: 'v3.6',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_DEV: 'false',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'LivechatArchiver',
    WEBHOOK_URL: RECEIVER,
    WEBHOOK_SECRET_ID,
    WEBHOOK_OWNER_CLIENT_ID: APP,
  });
});
afterAll(() => sim?.close());
const planner = useBundledHandler<Handler>('functions/handlers/planner.ts', 'test/doctor', 'planner-webhooks.mjs');

async function invoke(event: unknown) {
  aws.reset({ accountId: sim.accountId, token: sim.token });
  aws.secretsMock.on(GetSecretValueCommand, { SecretId: WEBHOOK_SECRET_ID }).resolves({ SecretString: WEBHOOK_SECRET });
  const { result: answer, lines, text } = await captureJsonLogs(() => planner.handler(event, lambdaContext()));
  return { answer, lines, text };
}

describe('the bundled planner with webhooks', () => {
  it('fails the webhooks check while nothing is registered, yet plans the night; ok once registered', async () => {
    const night = await invoke({ scheduledTime: new Date().toISOString() });
    const check = night.lines.find((line) => line['message'] === 'doctor check' && line['check'] === 'webhooks');
    expect(check).toMatchObject({ level: 'ERROR', status: 'failed' });
    expect(check!['fix']).toBe(
      `npm run webhooks -- register --url ${RECEIVER} --owner-client-id ${APP} --secret-id ${WEBHOOK_SECRET_ID}`,
    );
    expect(night.answer).toMatchObject({ days: expect.any(Number) });
    expect(aws.sqsMock.commandCalls(SendMessageBatchCommand).length).toBeGreaterThan(0);
    expect(night.text).toContain('"WebhookCheckFailed":1');

    const registered = await fetch(`${sim.url}/v3.6/configuration/action/register_webhook`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${sim.accountId}:${sim.token}`).toString('base64')}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        action: 'chat_deactivated',
        secret_key: WEBHOOK_SECRET,
        url: `${RECEIVER}webhooks/livechat`,
        type: 'license',
        owner_client_id: APP,
      }),
    });
    expect(registered.status).toBe(200);
    const doctor = await invoke({ doctor: true });
    expect(doctor.answer).toMatchObject({ doctor: 'ok' });
    const ok = doctor.lines.find((line) => line['check'] === 'webhooks');
    expect(ok).toMatchObject({ level: 'INFO', status: 'ok' });
    expect(doctor.text).toContain('"WebhookCheckFailed":0');
    for (const output of [night.text, doctor.text]) expect(output).not.toContain(WEBHOOK_SECRET);
  });
});
