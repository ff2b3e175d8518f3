import { afterEach, describe, expect, it } from 'vitest';
import { registrationCommand } from '#cli/webhooks-registration-command.ts';
import { LivechatUnreachableError } from '#shared/errors.ts';
import { type RunningV36Simulator, startV36Simulator, type V36SimulatorOptions } from '#simulator/v36-simulator.ts';
import type { SimulatedWebhook, WebhookAnswerFault } from '#simulator/webhook-configuration.ts';
import { authorizationHeader } from '#sources/v36/list-archives-client.ts';
import { createWebhookRegistry } from '#sources/v36/webhook-registration.ts';
import { capture } from '#test/support/cli-runner.ts';

/**
 * The Configuration API's writes (register_webhook, unregister_webhook: src/pages/management/
 * configuration-api/index.mdx "Register Webhook", "Unregister Webhook") are sent once: when LiveChat
 * has carried one out and its answer is then lost (cut short, not JSON, cut off, stalled, an error
 * page), sending it again would register a second webhook. The v3.6 simulator carries the method
 * out and loses the answer (`webhookAnswerFaults`).
 */
const APP = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
const RECEIVER = 'https://hooks.example.com/webhooks/livechat';
const SECRET = 'webhook-secret-never-printed-77c1d0';
let sim: RunningV36Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function simulator(options: Partial<V36SimulatorOptions> = {}) {
  sim = await startV36Simulator({ from: '2026-11-01', to: '2026-11-02', chatsPerDay: 2, ...options });
  return sim;
}

async function webhooksCli(command: 'register' | 'unregister' | 'list', argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await registrationCommand(command, [...argv, '--owner-client-id', APP, '--api-url', sim!.url], {
    env: { LIVECHAT_ACCOUNT_ID: sim!.accountId, LIVECHAT_PAT: sim!.token, LIVECHAT_WEBHOOK_SECRET: SECRET },
    stdout: stdout.stream,
    stderr: stderr.stream,
    clientOverrides: { baseRetryDelayMs: 1, timeoutMs: 500 },
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const hook: SimulatedWebhook = {
  id: 'registered0001',
  url: RECEIVER,
  action: 'chat_deactivated',
  type: 'license',
  owner_client_id: APP,
  secret_key: SECRET,
};

const unconfirmed = (method: string, reason: string) =>
  new RegExp(
    `^error: LiveChat may have carried out /v3\\.6/configuration/action/${method} \\(${reason}\\); it was not sent again: ` +
      'see whether it took effect with `npm run webhooks -- list --owner-client-id ID` .*before sending it again\\n$',
  );

describe('webhook registration writes are never sent twice', () => {
  it.each<[WebhookAnswerFault['fault'], string]>([
    ['malformed', 'answered 200, but the body is not JSON'],
    ['html', 'answered 200, but the body is not JSON'],
    ['cut', 'the connection broke before the whole answer came'],
    ['stall', 'no answer within the timeout'],
    ['503', 'answered HTTP 503'],
  ])(
    'register whose answer is lost (%s) is sent once: one webhook, one line saying to check with list',
    async (fault, reason) => {
      await simulator({ webhookAnswerFaults: [{ method: 'register_webhook', fault, times: 5 }] });
      const result = await webhooksCli('register', ['--url', RECEIVER]);
      expect(sim!.webhooks()).toHaveLength(1);
      expect(sim!.webhooks()[0]).toMatchObject({ url: RECEIVER, action: 'chat_deactivated', owner_client_id: APP });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(unconfirmed('register_webhook', reason));
      expect(result.stderr).not.toContain(SECRET);
      // What the error says to run shows the one webhook.
      const listed = await webhooksCli('list', []);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain('chat_deactivated license webhook: registered');
    },
  );

  it('unregister whose answer is cut off is sent once and says to check with list', async () => {
    await simulator({ webhooks: [hook], webhookAnswerFaults: [{ method: 'unregister_webhook', fault: 'cut' }] });
    const result = await webhooksCli('unregister', ['--id', hook.id]);
    expect(sim!.webhooks()).toEqual([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      unconfirmed('unregister_webhook', 'the connection broke before the whole answer came'),
    );
  });

  it('a read whose answer is lost is still retried (list_webhooks)', async () => {
    await simulator({ webhooks: [hook], webhookAnswerFaults: [{ method: 'list_webhooks', fault: 'malformed' }] });
    const listed = await webhooksCli('list', []);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(hook.id);
  });

  it('a write whose connection could not be made (refused: it never left) is tried again, and registers once', async () => {
    await simulator();
    const attempts: string[] = [];
    const refusedTwice: typeof fetch = async (input, init) => {
      attempts.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      if (attempts.length <= 2) {
        throw new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        });
      }
      return fetch(input, init);
    };
    const registry = createWebhookRegistry({
      apiUrl: sim!.url,
      authorization: authorizationHeader({ kind: 'pat', accountId: sim!.accountId, token: sim!.token }),
      baseRetryDelayMs: 1,
      fetch: refusedTwice,
    });
    const id = await registry.register({ url: RECEIVER, secretKey: SECRET, ownerClientId: APP });
    expect(attempts).toEqual(Array(3).fill('/v3.6/configuration/action/register_webhook'));
    expect(sim!.webhooks().map((webhook) => webhook.id)).toEqual([id]);

    attempts.length = 0;
    const alwaysRefused: typeof fetch = async (input) => {
      attempts.push(String(input));
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    };
    const refused = createWebhookRegistry({
      apiUrl: sim!.url,
      authorization: authorizationHeader({ kind: 'pat', accountId: sim!.accountId, token: sim!.token }),
      baseRetryDelayMs: 1,
      fetch: alwaysRefused,
    });
    await expect(refused.unregister(id, APP)).rejects.toThrow(LivechatUnreachableError);
    expect(attempts).toHaveLength(3);
    expect(sim!.webhooks()).toHaveLength(1);
  });
});
