import { spawn } from 'node:child_process';
import { mkdtemp, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCTOR_EXIT } from '#cli/doctor-command.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator, type V36SimulatorOptions } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { DATA, runDoctorCli, snapshot } from './doctor-support.ts';

let servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function v2Sim(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ ...DATA, chatsPerDay: 40, ...options });
  servers.push(sim);
  return sim;
}
async function v36Sim(options: Partial<V36SimulatorOptions> = {}): Promise<RunningV36Simulator> {
  const sim = await startV36Simulator({ ...DATA, chatsPerDay: 40, ...options });
  servers.push(sim);
  return sim;
}
const v2Env = (sim: RunningSimulator, extra: Record<string, string> = {}) => ({
  LIVECHAT_LOGIN: sim.login,
  LIVECHAT_PAT: sim.pat,
  LIVECHAT_ACCOUNT_ID: sim.accountId,
  ...extra,
});
const v36Env = (sim: RunningV36Simulator) => ({ LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token });

describe('npm run doctor against the simulators', () => {
  it('passes a healthy v2 account: every check ok, exit 0, counts from the simulator', async () => {
    const sim = await v2Sim();
    const lake = join(await mkdtemp(join(tmpdir(), 'doctor-')), 'lake');
    const run = await runDoctorCli(['--api-url', sim.url, '--out', lake], v2Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.status).toEqual({
      credentials: 'ok',
      'data-centre': 'ok',
      'api-lifecycle': 'ok',
      volume: 'ok',
      sample: 'ok',
      retention: 'ok',
      lake: 'ok',
    });
    const yesterday = sim.chats('2026-11-19').length;
    const week = ['19', '18', '17', '16', '15', '14', '13'].map((d) => sim.chats(`2026-11-${d}`).length);
    expect(run.lines.line['volume']).toContain(`yesterday 2026-11-19 (UTC) ${yesterday} chats`);
    expect(run.lines.line['volume']).toContain(`busiest of the last 7 days`);
    expect(run.lines.line['volume']).toContain(` ${Math.max(...week)}: `);
    expect(run.lines.line['retention']).toContain('unlimited');
    expect(run.stdout).toMatch(/^doctor: this account can be archived$/m);
    // The doctor created no lake folder.
    await expect(stat(lake)).rejects.toThrow(/ENOENT/);
  });

  it('names the kind of a refused v2 PAT and the scope it needs, never the secret: exit 3', async () => {
    const sim = await v2Sim();
    const run = await runDoctorCli(['--api-url', sim.url], v2Env(sim, { LIVECHAT_PAT: 'not-the-pat-123' }));
    expect(run.code).toBe(DOCTOR_EXIT.refused);
    expect(run.lines.status).toEqual({ credentials: 'failed' });
    expect(run.lines.line['credentials']).toContain('Personal Access Token (LIVECHAT_LOGIN + LIVECHAT_PAT) refused');
    expect(run.lines.line['credentials']).toContain('archives_read');
    expect(run.stdout + run.stderr).not.toContain('not-the-pat-123');
  });

  it('names the scope a refused v3.6 PAT needs (chats--all:ro): exit 3', async () => {
    const sim = await v36Sim();
    const run = await runDoctorCli(['--source', 'v3.6', '--api-url', sim.url], {
      LIVECHAT_ACCOUNT_ID: sim.accountId,
      LIVECHAT_PAT: 'dal:wrong-token-456',
    });
    expect(run.code).toBe(DOCTOR_EXIT.refused);
    expect(run.lines.line['credentials']).toMatch(
      /Personal Access Token \(LIVECHAT_ACCOUNT_ID \+ LIVECHAT_PAT\) refused/,
    );
    expect(run.lines.line['credentials']).toContain('chats--all:ro');
    expect(run.stdout + run.stderr).not.toContain('wrong-token-456');
  });

  it('names the data centre a misdirected account needs: exit 1, and ok once --region says it', async () => {
    const sim = await v2Sim({ region: 'fra' });
    const wrong = await runDoctorCli(['--api-url', sim.url], v2Env(sim));
    expect(wrong.code).toBe(DOCTOR_EXIT.failed);
    expect(wrong.lines.status['data-centre']).toBe('failed');
    expect(wrong.lines.line['data-centre']).toContain('--region fra');
    const right = await runDoctorCli(['--api-url', sim.url, '--region', 'fra'], v2Env(sim));
    expect(right.code).toBe(DOCTOR_EXIT.ok);
    expect(right.lines.line['data-centre']).toContain('fra data centre (X-Region: fra)');
  });

  it('warns of a Deprecation header with its date and the days left; a date passed fails', async () => {
    const near = await v2Sim({ lifecycle: { header: 'Deprecation', value: '2027-01-19' } });
    const run = await runDoctorCli(['--api-url', near.url], v2Env(near));
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.status['api-lifecycle']).toBe('warning');
    expect(run.lines.line['api-lifecycle']).toContain('Deprecation: 2027-01-19');
    expect(run.lines.line['api-lifecycle']).toContain('(60 days left)');
    const gone = await v2Sim({ lifecycle: { header: 'Deprecation', value: '2026-11-01' } });
    const late = await runDoctorCli(['--api-url', gone.url], v2Env(gone));
    expect(late.code).toBe(DOCTOR_EXIT.failed);
    expect(late.lines.status['api-lifecycle']).toBe('failed');
  });

  it('fails the volume check of a v2 account above the 25 000-record cap and recommends v3.6', async () => {
    const sim = await v2Sim({ chatsPerDay: (day) => (day === '2026-11-17' ? 25_010 : 30) });
    const run = await runDoctorCli(['--api-url', sim.url], v2Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.failed);
    expect(run.lines.status['volume']).toBe('failed');
    expect(run.lines.line['volume']).toContain('busiest of the last 7 days 2026-11-17 25,010');
    expect(run.lines.line['volume']).toContain('1,000 pages on the busiest day');
    expect(run.lines.line['volume']).toContain('--source v3.6');
  }, 60_000);

  it('names sampled fields without a column and values of the wrong type, never their values', async () => {
    const sim = await v2Sim({ extraFields: { visitor: { language: 'pl-secretish' }, duration: 'long-ish', mood: 3 } });
    const run = await runDoctorCli(['--api-url', sim.url], v2Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.status['sample']).toBe('warning');
    expect(run.lines.line['sample']).toContain('fields without a column: mood, visitor.language');
    expect(run.lines.line['sample']).toContain('values of the wrong type: duration (int, got string)');
    expect(run.stdout).not.toMatch(/secretish|long-ish/);
  });

  it('reads a v3.6 license retention and warns when a backfill reaches beyond it (limit_reached simulator)', async () => {
    const sim = await v36Sim({ retention: { months: 2, beyond: 'limit_reached', today: '2026-11-20' } });
    const run = await runDoctorCli(['--source', 'v3.6', '--api-url', sim.url, '--from', '2026-08-01'], v36Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.status['retention']).toBe('warning');
    expect(run.lines.line['retention']).toContain(
      'archives_retention 2 months: the oldest day LiveChat still serves is 2026-09-20',
    );
    expect(run.lines.line['retention']).toContain('the backfill from 2026-08-01 reaches beyond it');
    expect(run.lines.line['retention']).toContain('start at 2026-09-20 or later');
    const inside = await runDoctorCli(['--source', 'v3.6', '--api-url', sim.url, '--from', '2026-10-01'], v36Env(sim));
    expect(inside.lines.status['retention']).toBe('ok');
  });

  it('says the retention could not be read, and which scope allows it, for a token without it', async () => {
    const sim = await v36Sim({ licenseProperties: 'forbidden' });
    const run = await runDoctorCli(['--source', 'v3.6', '--api-url', sim.url], v36Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.status['retention']).toBe('warning');
    expect(run.lines.line['retention']).toContain('could not be read');
    expect(run.lines.line['retention']).toContain('properties.license.value--all:ro');
    const v2 = await v2Sim();
    const noAccount = await runDoctorCli(['--api-url', v2.url], { LIVECHAT_LOGIN: v2.login, LIVECHAT_PAT: v2.pat });
    expect(noAccount.lines.status['retention']).toBe('warning');
    expect(noAccount.lines.line['retention']).toContain('set LIVECHAT_ACCOUNT_ID');
  });

  it('fails a lake cut in another zone, naming both zones, and leaves the lake byte for byte as it was', async () => {
    const sim = await v2Sim({ timeZone: 'Europe/Warsaw' });
    const lake = await mkdtemp(join(tmpdir(), 'doctor-lake-'));
    const archived = await runArchiveCli(
      [
        '--from',
        '2026-11-18',
        '--to',
        '2026-11-19',
        '--out',
        lake,
        '--api-url',
        sim.url,
        '--time-zone',
        'Europe/Warsaw',
      ],
      v2Env(sim),
    );
    expect(archived.code).toBe(0);
    const before = await snapshot(lake);
    const run = await runDoctorCli(['--api-url', sim.url, '--out', lake, '--time-zone', 'UTC'], v2Env(sim));
    expect(run.code).toBe(DOCTOR_EXIT.failed);
    expect(run.lines.status['lake']).toBe('failed');
    expect(run.lines.line['lake']).toContain('cut in Europe/Warsaw');
    expect(run.lines.line['lake']).toContain('--time-zone is UTC');
    expect(run.lines.line['lake']).toContain('--time-zone Europe/Warsaw');
    const same = await runDoctorCli(['--api-url', sim.url, '--out', lake, '--time-zone', 'Europe/Warsaw'], v2Env(sim));
    expect(same.code).toBe(DOCTOR_EXIT.ok);
    expect(same.lines.line['lake']).toContain('days cut in Europe/Warsaw as recorded');
    expect(await snapshot(lake)).toEqual(before);
  });

  it('fails (exit 1) when LiveChat cannot be reached, saying so, and still checks the lake', async () => {
    const lake = await mkdtemp(join(tmpdir(), 'doctor-unreachable-'));
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const run = await runDoctorCli(['--api-url', `http://127.0.0.1:${port}`, '--out', lake], {
      LIVECHAT_LOGIN: 'a@b.c',
      LIVECHAT_PAT: 'p',
    });
    expect(run.code).toBe(DOCTOR_EXIT.failed);
    expect(run.lines.status).toEqual({ credentials: 'failed', lake: 'ok' });
    expect(run.lines.line['credentials']).toMatch(/could not be tried: cannot reach LiveChat at 127\.0\.0\.1:\d+/);
    expect(run.lines.line['credentials']?.match(/check --api-url/g)).toHaveLength(1);
  });

  it('answers --help with the usage (exit 0) and a bad argument with one error line (exit 2)', async () => {
    const help = await runDoctorCli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run doctor -- /);
    for (const args of [
      ['--source', 'v4'],
      ['--out', 'a', '--bucket', 'b'],
      ['--nope'],
      ['--from', '2026-02-30'],
      ['--time-zone', 'Mars/Olympus'],
      ['--lookback-days', '99'],
      ['--region', 'FRA!'],
      ['--api-url', 'ftp://x'],
    ]) {
      const bad = await runDoctorCli(args, {});
      expect(bad.code, args.join(' ')).toBe(DOCTOR_EXIT.usage);
      expect(
        bad.stderr.split('\n').filter((line) => line.startsWith('error: ')),
        args.join(' '),
      ).toHaveLength(1);
      expect(bad.stdout).toBe('');
    }
    const noCredentials = await runDoctorCli(['--source', 'v3.6'], {});
    expect(noCredentials.code).toBe(DOCTOR_EXIT.usage);
    expect(noCredentials.stderr).toMatch(/^error: for --source v3\.6 set LIVECHAT_ACCOUNT_ID/);
  });
});

describe('npm run doctor as shipped', () => {
  it('runs through npm against the simulator, prints the checklist and exits with its code', async () => {
    const sim = await v36Sim({ from: '2026-10-01', to: '2099-01-01', chatsPerDay: 5 });
    const run = await npmRun(['--source', 'v3.6', '--api-url', sim.url], v36Env(sim));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ok +credentials +Personal Access Token/m);
    expect(run.stdout).toMatch(/^doctor: this account can be archived/m);
    const refused = await npmRun(['--source', 'v3.6', '--api-url', sim.url], { ...v36Env(sim), LIVECHAT_PAT: 'bad' });
    expect(refused.code).toBe(3);
    const help = await npmRun(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: npm run doctor');
  }, 60_000);
});

function npmRun(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'doctor', '--', ...args], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}
