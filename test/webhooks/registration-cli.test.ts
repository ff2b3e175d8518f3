import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { registrationCommand } from '#cli/webhooks-registration-command.ts';
import { capture } from '#test/support/cli-runner.ts';
import { documented } from '#test/support/documented-archives.ts';

/**
 * A stand-in for Configuration API v3.6's webhook methods (src/pages/management/configuration-api/index.mdx
 * "Register Webhook", "List Webhooks", "Unregister Webhook", "Get License Webhooks State"), answering the
 * documented response examples (payloads/management/v3.6/configuration-api/responses/webhooks/*.json).
 */
const RESPONSES = 'payloads/management/v3.6/configuration-api/responses/webhooks/';
const SECRET = 'webhook-secret-never-printed-9f8e7d';
const ACCOUNT = 'c0ffee00-1234-4abc-9def-000000000001';
const PAT = 'dal:registration-pat';
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

interface Received {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

async function configurationApi(status: (path: string) => number = () => 200) {
  const received: Received[] = [];
  const overrides = new Map<string, unknown>();
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, authorization: req.headers.authorization, body: JSON.parse(raw || '{}') });
      const code = status(path);
      const method = path.replace('/v3.6/configuration/action/', '');
      const body = overrides.has(method)
        ? overrides.get(method)
        : code === 401
          ? { error: { type: 'authentication', message: 'Invalid access token' } }
          : code !== 200
            ? { error: { type: 'validation', message: 'Wrong owner_client_id' } }
            : method === 'register_webhook'
              ? documented(`${RESPONSES}registerWebhook.json`)
              : method === 'list_webhooks'
                ? documented(`${RESPONSES}listWebhooks.json`)
                : method === 'get_license_webhooks_state'
                  ? documented(`${RESPONSES}getWebhooksState.json`)
                  : undefined;
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`,
    received,
    answer: (method: string, body: unknown) => overrides.set(method, body),
  };
}

async function run(
  command: 'register' | 'list' | 'unregister',
  argv: string[],
  env: Record<string, string> = {},
  readSecret?: (id: string) => Promise<string>,
) {
  const stdout = capture();
  const stderr = capture();
  const code = await registrationCommand(command, argv, {
    env: { LIVECHAT_ACCOUNT_ID: ACCOUNT, LIVECHAT_PAT: PAT, ...env },
    stdout: stdout.stream,
    stderr: stderr.stream,
    clientOverrides: { baseRetryDelayMs: 1, timeoutMs: 2_000 },
    ...(readSecret ? { readSecret } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const basic = `Basic ${Buffer.from(`${ACCOUNT}:${PAT}`).toString('base64')}`;

describe('npm run webhooks -- register | list | unregister (Configuration API v3.6)', () => {
  it('registers a chat_deactivated license webhook with the secret from the environment, never printing it', async () => {
    const api = await configurationApi();
    const result = await run(
      'register',
      [
        '--url',
        'https://abc.lambda-url.eu-west-1.on.aws/',
        '--owner-client-id',
        'asXdesldiAJSq9padj',
        '--api-url',
        api.url,
      ],
      { LIVECHAT_WEBHOOK_SECRET: SECRET },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(api.received[0]).toEqual({
      path: '/v3.6/configuration/action/register_webhook',
      authorization: basic,
      body: {
        action: 'chat_deactivated',
        secret_key: SECRET,
        url: 'https://abc.lambda-url.eu-west-1.on.aws',
        type: 'license',
        owner_client_id: 'asXdesldiAJSq9padj',
        description: 'livechat-archiver: ended chats into the lake',
      },
    });
    expect(api.received[1]?.path).toBe('/v3.6/configuration/action/get_license_webhooks_state');
    expect(result.stdout).toContain('registered chat_deactivated webhook pqi8oasdjahuakndw9nsad9na');
    expect(result.stdout).toContain('license webhooks enabled: yes');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('takes the secret from Secrets Manager with --secret-id (plain or {"secretKey"})', async () => {
    const api = await configurationApi();
    const asked: string[] = [];
    const result = await run(
      'register',
      [
        '--url',
        'https://hooks.example.com/x',
        '--owner-client-id',
        'app',
        '--secret-id',
        'arn:secret',
        '--api-url',
        api.url,
      ],
      {},
      async (id) => {
        asked.push(id);
        return JSON.stringify({ secretKey: SECRET });
      },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(asked).toEqual(['arn:secret']);
    expect(api.received[0]?.body['secret_key']).toBe(SECRET);
  });

  it('sends register once even when LiveChat answers 503 (a retry could register twice)', async () => {
    const api = await configurationApi(() => 503);
    const result = await run(
      'register',
      ['--url', 'https://h.example.com', '--owner-client-id', 'app', '--api-url', api.url],
      {
        LIVECHAT_WEBHOOK_SECRET: SECRET,
      },
    );
    expect(result.code).toBe(1);
    expect(api.received).toHaveLength(1);
    expect(result.stderr).not.toContain(SECRET);
  });

  it('lists the app’s webhooks as a table', async () => {
    const api = await configurationApi();
    const result = await run('list', ['--owner-client-id', 'asXdesldiAJSq9padj', '--api-url', api.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(api.received[0]?.body).toEqual({ owner_client_id: 'asXdesldiAJSq9padj' });
    expect(result.stdout).toMatch(
      /pqi8oasdjahuakndw9nsad9na\s+chat_deactivated\s+license\s+http:\/\/myservice\.com\/webhooks\s+Test webhook/,
    );
    expect(result.stdout).toContain('chat_deactivated license webhook: registered; enabled on the license: yes');
  });

  it('list exits 1 when the webhook is not enabled on the license (the app is not installed)', async () => {
    const api = await configurationApi();
    api.answer('get_license_webhooks_state', { license_webhooks_enabled: false });
    const result = await run('list', ['--owner-client-id', 'asXdesldiAJSq9padj', '--api-url', api.url]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('enabled on the license: NO (install the app)');
  });

  it('unregisters by id (no response payload) and reports LiveChat refusing', async () => {
    const api = await configurationApi();
    const ok = await run('unregister', [
      '--id',
      'pqi8oasdjahuakndw9nsad9na',
      '--owner-client-id',
      'app',
      '--api-url',
      api.url,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(api.received[0]).toMatchObject({
      path: '/v3.6/configuration/action/unregister_webhook',
      body: { id: 'pqi8oasdjahuakndw9nsad9na', owner_client_id: 'app' },
    });
    expect(ok.stdout).toBe('unregistered webhook pqi8oasdjahuakndw9nsad9na\n');
    await new Promise((resolve) => server!.close(resolve));
    const refusing = await configurationApi((path) => (path.endsWith('unregister_webhook') ? 400 : 200));
    const refused = await run('unregister', ['--id', 'x', '--owner-client-id', 'app', '--api-url', refusing.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: LiveChat rejected \/v3\.6\/configuration\/action\/unregister_webhook \(400\): validation: Wrong owner_client_id\n$/,
    );
  });

  it.each([
    [['--owner-client-id', 'app'], /--url URL .* is required/],
    [['--url', 'http://insecure.example.com', '--owner-client-id', 'app'], /--url must be https/],
    [['--url', 'https://h.example.com'], /--owner-client-id ID .* is required/],
    [['--url', `https://h.example.com/${'x'.repeat(500)}`, '--owner-client-id', 'app'], /longer than the 500/],
  ])('refuses %j with one line and exit 2', async (argv, message) => {
    const result = await run('register', argv, { LIVECHAT_WEBHOOK_SECRET: SECRET });
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(message);
  });

  it('exits 3 with the scope to ask for when LiveChat refuses the token', async () => {
    const api = await configurationApi(() => 401);
    const result = await run('list', ['--owner-client-id', 'app', '--api-url', api.url]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/webhooks\.configuration:rw/);
    expect(result.stderr).not.toContain(PAT);
  });

  it('runs through npm run webhooks -- list', async () => {
    const api = await configurationApi();
    const child = spawn(
      'npm',
      ['run', '--silent', 'webhooks', '--', 'list', '--owner-client-id', 'app', '--api-url', api.url],
      {
        env: { ...process.env, LIVECHAT_ACCOUNT_ID: ACCOUNT, LIVECHAT_PAT: PAT },
        stdio: 'pipe',
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toContain('pqi8oasdjahuakndw9nsad9na');
  }, 60_000);
});
