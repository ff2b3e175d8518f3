import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { chatIdsByDay, listFiles } from '#test/support/lake-reader.ts';

// Credentials and data centres as the REST API v2 docs describe them today
// (livechat-public-docs src/pages/management/configuration-api/v2.0/index.mdx, "Authentication";
// the v3 error shape of misdirected_request from src/pages/messaging/agent-chat-api/index.mdx, "Errors").
const DAY = '2026-05-04';
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function archive(env: Record<string, string>, options: Partial<SimulatorOptions> = {}, extra: string[] = []) {
  sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 30, ...options });
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const result = await runArchiveCli(['--from', DAY, '--to', DAY, '--out', out, '--api-url', sim.url, ...extra], env);
  const chatFiles = (await listFiles(out)).filter((file) => file.endsWith('.json.gz'));
  return { ...result, out, sim, chatFiles };
}

const everyChat = async (out: string, simulator: RunningSimulator) =>
  expect((await chatIdsByDay(out)).get(DAY)).toEqual(simulator.chats(DAY).map((chat) => chat.id));

describe('v2 credentials from the environment', () => {
  it('archives with LIVECHAT_LOGIN + LIVECHAT_PAT (Personal Access Token, HTTP Basic)', async () => {
    const run = await archive({ LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_PAT: 'demo-pat' });
    expect(run.code).toBe(EXIT.ok);
    await everyChat(run.out, run.sim);
  });

  it('archives with LIVECHAT_BEARER_TOKEN (OAuth access token), preferred over a PAT', async () => {
    const run = await archive({
      LIVECHAT_BEARER_TOKEN: 'demo-bearer-token',
      LIVECHAT_LOGIN: 'demo@example.com',
      LIVECHAT_PAT: 'a-wrong-pat',
    });
    expect(run.code).toBe(EXIT.ok);
    await everyChat(run.out, run.sim);
  });

  it('keeps LIVECHAT_LOGIN + LIVECHAT_API_KEY working as a legacy alias; a PAT wins over it', async () => {
    const legacy = await archive({ LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_API_KEY: 'demo-api-key' });
    expect(legacy.code).toBe(EXIT.ok);
    await everyChat(legacy.out, legacy.sim);
    await sim?.close();
    const both = await archive({
      LIVECHAT_LOGIN: 'demo@example.com',
      LIVECHAT_PAT: 'demo-pat',
      LIVECHAT_API_KEY: 'an-old-revoked-key',
    });
    expect(both.code).toBe(EXIT.ok);
  });

  it.each([
    [
      'a wrong PAT',
      { LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_PAT: 'secret-wrong-pat-1' },
      /authentication failed \(401\): the Personal Access Token \(agent login e-mail \+ PAT\) was refused: .*archives_read/,
    ],
    [
      'a wrong bearer token',
      { LIVECHAT_BEARER_TOKEN: 'secret-wrong-token-2' },
      /authentication failed \(401\): the bearer token was refused: .*archives_read/,
    ],
    [
      'a wrong legacy API key',
      { LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_API_KEY: 'secret-wrong-key-3' },
      /authentication failed \(401\): the legacy API key .*no longer issues API keys; create a Personal Access Token with the scope archives_read/,
    ],
  ])(
    'on %s: one line naming the credential kind and archives_read, no secret, nothing written',
    async (_name, env, line) => {
      const run = await archive(env);
      expect(run.code).toBe(EXIT.auth);
      const errors = run.stderr.split('\n').filter((text) => text.startsWith('error:'));
      expect(errors).toEqual([expect.stringMatching(line)]);
      expect(run.stderr + run.stdout).not.toMatch(/secret-wrong/);
      expect(run.chatFiles).toEqual([]);
    },
  );
});

describe('v2 data centre (X-Region)', () => {
  const pat = { LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_PAT: 'demo-pat' };

  it('archives an account in fra with --region fra', async () => {
    const run = await archive(pat, { region: 'fra' }, ['--region', 'fra']);
    expect(run.code).toBe(EXIT.ok);
    await everyChat(run.out, run.sim);
  });

  it.each([421, 400, 500])(
    'misdirected_request (status %i) fails at once with one line naming the region to use',
    async (status) => {
      const run = await archive(pat, { region: 'fra', misdirectedStatus: status });
      expect(run.code).toBe(EXIT.auth);
      const errors = run.stderr.split('\n').filter((text) => text.startsWith('error:'));
      expect(errors).toEqual([expect.stringMatching(/misdirected_request .*"fra" data centre: .*--region fra/)]);
      // Not retried by the client, whatever the status; Node's fetch itself repeats a 421 once
      // on a fresh connection (HTTP's meaning of 421), hence 2 there.
      expect(run.sim.stats().requests).toBe(status === 421 ? 2 : 1);
      expect(run.chatFiles).toEqual([]);
    },
  );
});

describe('API retirement (Legacy / Deprecation headers)', () => {
  it('prints one warning with the header name and the date, however many responses carry it', async () => {
    const run = await archive(
      { LIVECHAT_LOGIN: 'demo@example.com', LIVECHAT_PAT: 'demo-pat' },
      { from: '2026-05-01', chatsPerDay: () => 60, lifecycle: { header: 'Deprecation', value: '2027-03-01' } },
      ['--from', '2026-05-01'],
    );
    expect(run.code).toBe(EXIT.ok);
    expect(run.sim.stats().requests).toBeGreaterThan(4);
    const warnings = run.stderr.split('\n').filter((text) => text.startsWith('warning:'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^warning: LiveChat API responses carry "Deprecation: 2027-03-01": this API version is deprecated and is decommissioned after 2027-03-01 \(-?\d+ days left\); --source v3.6/,
      ),
    ]);
  });
});
