import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { archiveCommand, EXIT } from '#cli/archive-command.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { capture } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { answerNoObjects } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

const API_KEY = 'sk-live-0123456789abcdef-SECRET';
const LOGIN = 'ops@example.com';
const BASIC = Buffer.from(`${LOGIN}:${API_KEY}`).toString('base64');
const PAT = 'pat-fra:0123456789abcdef-SECRET';
const BEARER = 'dal:oauth-access-token-SECRET';
const DAYS = { from: '2026-10-01', to: '2026-10-03' };
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({
    ...DAYS,
    login: LOGIN,
    apiKey: API_KEY,
    pat: PAT,
    bearerToken: BEARER,
    faults: {
      rate429: 0.1,
      retryAfterSeconds: 0,
      rate5xx: 0.1,
      rateMalformed: 0.05,
      drift: [{ day: DAYS.to, afterRequests: 2, addChats: 2 }],
    },
  });
});

afterAll(async () => {
  await sim.close();
});

function expectNoSecret(text: string, where: string) {
  expect(text.includes(API_KEY), `API key in ${where}`).toBe(false);
  expect(text.includes(BASIC), `basic-auth header in ${where}`).toBe(false);
}

describe('the API key never leaks', () => {
  it('appears in no output line and no file of a full local archive with retries, drift and an auth failure', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const stdout = capture();
    const stderr = capture();
    const io = {
      stdout: stdout.stream,
      stderr: stderr.stream,
      clientOverrides: { baseRetryDelayMs: 5 },
      redeliveryDelayMs: 10,
    };
    const args = ['--from', DAYS.from, '--to', DAYS.to, '--out', out, '--api-url', sim.url];
    expect(await archiveCommand(args, { ...io, env: { LIVECHAT_LOGIN: LOGIN, LIVECHAT_API_KEY: API_KEY } })).toBe(
      EXIT.ok,
    );
    expect(
      await archiveCommand(args, { ...io, env: { LIVECHAT_LOGIN: LOGIN, LIVECHAT_API_KEY: `${API_KEY}-old` } }),
    ).toBe(EXIT.auth);
    expect(sim.stats().byStatus['429']).toBeGreaterThan(0);
    expectNoSecret(stdout.text() + stderr.text(), 'CLI output');
    const files = await listFiles(out);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const raw = await readFile(join(out, file));
      expectNoSecret(file.endsWith('.gz') ? gunzipSync(raw).toString() : raw.toString(), file);
    }
  });

  it('nor does a Personal Access Token or a bearer token, accepted or refused', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const stdout = capture();
    const stderr = capture();
    const io = { stdout: stdout.stream, stderr: stderr.stream, clientOverrides: { baseRetryDelayMs: 5 } };
    const args = ['--from', DAYS.from, '--to', DAYS.to, '--out', out, '--api-url', sim.url];
    const runs: Array<[Record<string, string>, number]> = [
      [{ LIVECHAT_LOGIN: LOGIN, LIVECHAT_PAT: PAT }, EXIT.ok],
      [{ LIVECHAT_BEARER_TOKEN: BEARER }, EXIT.ok],
      [{ LIVECHAT_LOGIN: LOGIN, LIVECHAT_PAT: `${PAT}-old` }, EXIT.auth],
      [{ LIVECHAT_BEARER_TOKEN: `${BEARER}-old` }, EXIT.auth],
    ];
    for (const [env, code] of runs) expect(await archiveCommand(args, { ...io, env })).toBe(code);
    const secrets = [PAT, BEARER, Buffer.from(`${LOGIN}:${PAT}`).toString('base64')];
    const texts = [stdout.text() + stderr.text()];
    for (const file of await listFiles(out)) {
      const raw = await readFile(join(out, file));
      texts.push(file.endsWith('.gz') ? gunzipSync(raw).toString() : raw.toString());
    }
    for (const text of texts) for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  });

  it('appears in no queue message, S3 object or log line of the Lambda functions', async () => {
    const s3Mock = mockClient(S3Client);
    const sqsMock = mockClient(SQSClient);
    const secretsMock = mockClient(SecretsManagerClient);
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ login: LOGIN, apiKey: API_KEY }) });
    const objects: string[] = [];
    s3Mock.on(PutObjectCommand).callsFake((input: { Body: Uint8Array; Key: string }) => {
      objects.push(input.Key.endsWith('.gz') ? gunzipSync(input.Body).toString() : Buffer.from(input.Body).toString());
      return {};
    });
    s3Mock.on(ListObjectsV2Command).resolves({});
    s3Mock.on(DeleteObjectsCommand).resolves({});
    answerNoObjects(s3Mock);
    sqsMock.on(SendMessageBatchCommand).resolves({});
    stubFunctionEnv(sim.url, { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_DEV: 'true' });
    let logged = '';
    const write = (chunk: unknown) => {
      logged += String(chunk);
      return true;
    };
    const stdoutSpy = vi.spyOn(process.stdout, 'write').mockImplementation(write);
    const stderrSpy = vi.spyOn(process.stderr, 'write').mockImplementation(write);
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...parts: unknown[]) => {
        logged += parts.map(String).join(' ');
      }),
    );
    try {
      const { handler: planner } = await import('#handlers/planner.ts');
      const { handler: worker } = await import('#handlers/worker.ts');
      await planner({ from: DAYS.from, to: DAYS.to }, lambdaContext());
      const messages: string[] = [];
      const pending = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries!.map((e) => e.MessageBody!));
      while (pending.length > 0) {
        messages.push(...pending);
        sqsMock.resetHistory();
        await worker(sqsEvent(pending.splice(0, 10)), lambdaContext());
        pending.push(
          ...sqsMock
            .commandCalls(SendMessageBatchCommand)
            .flatMap((call) => call.args[0].input.Entries!.map((e) => e.MessageBody!)),
        );
      }
      expect(messages.length).toBeGreaterThan(6);
      expect(objects.length).toBeGreaterThan(6);
      expect(logged).toMatch(/retrying LiveChat request/);
      expectNoSecret(messages.join('\n'), 'queue messages');
      expectNoSecret(objects.join('\n'), 'S3 objects');
      expectNoSecret(logged, 'Lambda logs');
    } finally {
      stdoutSpy.mockRestore();
      stderrSpy.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
