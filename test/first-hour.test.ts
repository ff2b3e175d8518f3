/**
 * A newcomer's first hour, through the real commands (`npm run …`, as the README says): every
 * command explains itself, bad input is refused before anything is written, a failed first run
 * leaves the lake as it was, an unreachable API fails fast, Ctrl-C through npm ends cleanly
 * and the rerun resumes, counts agree, and erase keeps the identifier off the terminal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { addDays } from '#shared/day-range.ts';
import { localDay } from '#shared/time-zone.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { listFiles } from './support/lake-reader.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `npm run <script> -- <args>` in the repository, in its own process group (as a terminal runs it). */
function npmRun(script: string, args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const child = spawn('npm', ['run', script, '--', ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolveRun) =>
    child.on('close', (code) => resolveRun({ code, stdout, stderr, ms: Date.now() - started })),
  );
  return { child, done, output: () => stdout + stderr };
}

const run = (script: string, args: string[], env?: Record<string, string>) => npmRun(script, args, env).done;

/** What the command itself printed on stderr, without npm's banner. */
const errorLines = (text: string) => text.split('\n').filter((line) => line.startsWith('error:'));
const stackLines = (text: string) => text.split('\n').filter((line) => /^\s+at .+[:(]/.test(line));

const tempDir = () => mkdtemp(join(tmpdir(), 'first-hour-'));

let sim: RunningSimulator | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group has already gone
    }
  }
  await sim?.close();
  sim = undefined;
});

async function manifests(lake: string): Promise<RunManifest[]> {
  const dir = join(lake, 'manifests', 'runs');
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => JSON.parse(await readFile(join(dir, file), 'utf8')) as RunManifest));
}

describe('every command answers --help', () => {
  it.each(['archive', 'report', 'erase', 'prune', 'demo', 'simulator', 'doctor'])(
    'npm run %s -- --help prints its usage and exits 0',
    async (script) => {
      const result = await run(script, ['--help']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`usage: (npm run )?${script}`, 'i'));
      expect(result.stderr).not.toMatch(/Unknown option|TypeError|error:/);
      expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    },
    60_000,
  );
});

describe('bad input is refused before anything is written (exit 2, one error: line, no stack)', () => {
  const env = { LIVECHAT_LOGIN: 'agent@example.com', LIVECHAT_PAT: 'pat' };
  const today = localDay(new Date(), 'UTC');

  it.each([
    [
      'erase into a lake folder that does not exist',
      'erase',
      (d: string) => ['--out', join(d, 'lake-typo')],
      { ERASE_EMAIL: 'a@b.com' },
      /lake-typo: no such folder/,
    ],
    [
      'prune a lake folder that does not exist',
      'prune',
      (d: string) => ['--out', join(d, 'lake-typo'), '--older-than-days', '30'],
      {},
      /lake-typo: no such folder/,
    ],
    [
      'report on a lake folder that does not exist',
      'report',
      (d: string) => ['--lake', join(d, 'lake-typo'), '--out', join(d, 'report')],
      {},
      /lake-typo does not exist/,
    ],
    [
      'archive with --out pointing at a file',
      'archive',
      (d: string) => ['--from', today, '--out', join(d, 'a-file')],
      env,
      /a-file is a file, not a folder/,
    ],
    [
      'prune with --out pointing at a file',
      'prune',
      (d: string) => ['--out', join(d, 'a-file'), '--older-than-days', '30'],
      {},
      /a-file is a file, not a folder/,
    ],
    [
      'erase with --out pointing at a file',
      'erase',
      (d: string) => ['--out', join(d, 'a-file')],
      { ERASE_EMAIL: 'a@b.com' },
      /a-file is a file, not a folder/,
    ],
    [
      'archive with --to after today',
      'archive',
      (d: string) => ['--from', today, '--to', addDays(today, 2), '--time-zone', 'UTC', '--out', join(d, 'lake')],
      env,
      /--to \S+ is after today/,
    ],
    [
      'archive with an unknown --region',
      'archive',
      (d: string) => ['--from', today, '--region', 'eu', '--out', join(d, 'lake')],
      env,
      /--region must be dal or fra/,
    ],
    [
      'archive --source v3.6 with a filter list_archives cannot apply',
      'archive',
      (d: string) => ['--from', today, '--source', 'v3.6', '--type', 'chat', '--out', join(d, 'lake')],
      { LIVECHAT_ACCOUNT_ID: 'acc', LIVECHAT_PAT: 'pat' },
      /--source v3\.6: filter\(s\) type have no list_archives/,
    ],
  ] as const)(
    '%s',
    async (_name, script, argsOf, extraEnv, message) => {
      const dir = await tempDir();
      await writeFile(join(dir, 'a-file'), 'not a folder\n');
      const result = await run(script, argsOf(dir), { ...extraEnv });
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(errorLines(result.stderr)).toEqual([expect.stringMatching(message)]);
      expect(stackLines(result.stdout + result.stderr)).toEqual([]);
      expect((await readdir(dir)).sort()).toEqual(['a-file']); // nothing created beside it
    },
    60_000,
  );
});

describe('a run that never reached LiveChat leaves the lake as it was', () => {
  it('a wrong PAT writes nothing, so the corrected run may still choose its time zone', async () => {
    sim = await startSimulator({ from: '2026-05-01', to: '2026-05-03', chatsPerDay: () => 10 });
    const lake = join(await tempDir(), 'lake');
    const args = ['--from', '2026-05-01', '--to', '2026-05-03', '--api-url', sim.url, '--out', lake];
    const wrong = await run('archive', args, { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: 'wrong-pat' });
    expect(wrong.code, wrong.stderr).toBe(3);
    expect(existsSync(lake)).toBe(false);

    const right = await run('archive', [...args, '--time-zone', 'Europe/Warsaw'], {
      LIVECHAT_LOGIN: sim.login,
      LIVECHAT_PAT: sim.pat,
    });
    expect(right.code, right.stderr).toBe(0);
    expect(await listFiles(join(lake, 'manifests', 'time-zone'))).toEqual(['Europe/Warsaw.json']);
  }, 60_000);
});

describe('an API that cannot be reached fails fast and says where', () => {
  it('connection refused: a few quick retries, then one line naming host:port, nothing written', async () => {
    const port = await closedPort();
    const lake = join(await tempDir(), 'lake');
    const result = await run(
      'archive',
      ['--from', '2026-05-01', '--to', '2026-05-07', '--api-url', `http://127.0.0.1:${port}`, '--out', lake],
      { LIVECHAT_LOGIN: 'agent@example.com', LIVECHAT_PAT: 'pat' },
    );
    expect(result.code).toBe(3);
    expect(errorLines(result.stderr)).toEqual([
      expect.stringMatching(new RegExp(`cannot reach LiveChat at 127\\.0\\.0\\.1:${port}: connection refused`)),
    ]);
    expect(result.ms).toBeLessThan(20_000); // npm and tsx start-up included; the retries take about a second
    expect(existsSync(lake)).toBe(false);
  }, 60_000);
});

describe('the simulator prints the base URL that --api-url takes', () => {
  it('its --api-url line is the base URL, and the archive line it prints works as printed', async () => {
    const started = npmRun('simulator', [
      '--port',
      '0',
      '--from',
      '2026-05-01',
      '--to',
      '2026-05-02',
      '--chats-per-day',
      '5',
    ]);
    children.push(started.child);
    const base = await waitFor(started.output, /--api-url (http:\/\/127\.0\.0\.1:\d+)\s/);
    const printed = await waitFor(started.output, /archive: +npm run archive -- (.+)\n/);
    expect(printed).toBe(
      `--from 2026-05-01 --to 2026-05-02 --api-url ${base} --attachment-hosts 127.0.0.1 --out simulator-lake`,
    );
    const credentials = await waitFor(started.output, /PAT: +(LIVECHAT_LOGIN=\S+ LIVECHAT_PAT=\S+)/);
    const env = Object.fromEntries(credentials.split(' ').map((pair) => pair.split('=') as [string, string]));
    const dir = await tempDir();
    const result = await run(
      'archive',
      printed.replace('--out simulator-lake', `--out ${join(dir, 'lake')}`).split(' '),
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const [manifest] = await manifests(join(dir, 'lake'));
    expect(manifest!.totals.chats).toBeGreaterThan(0);
    // The simulator's own files are fetched from it as printed: none fails.
    expect(manifest!.totals.files?.failed ?? 0).toBe(0);
  }, 60_000);
});

describe('Ctrl-C through npm run, and the rerun', () => {
  it('ends like SIGINT to the process (summary, manifest marked interrupted); the rerun resumes; --full re-archives', async () => {
    sim = await startSimulator({ from: '2026-04-01', to: '2026-04-30', chatsPerDay: () => 60, latencyMs: 60 });
    const lake = join(await tempDir(), 'lake');
    const args = [
      '--from',
      '2026-04-01',
      '--to',
      '2026-04-30',
      '--api-url',
      sim.url,
      '--out',
      lake,
      '--concurrency',
      '1',
    ];
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };

    const first = npmRun('archive', args, env);
    children.push(first.child);
    await waitFor(first.output, /complete 2026-04-0\d: .*\n[\s\S]*complete 2026-04-\d\d: /);
    process.kill(-first.child.pid!, 'SIGINT'); // the whole group, as a terminal's Ctrl-C
    const interrupted = await first.done;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toMatch(/run local-\S+: INTERRUPTED/);
    const [manifest] = await manifests(lake);
    expect(manifest!.interrupted).toBe(true);
    const done = manifest!.days.filter((day) => day.status === 'complete').map((day) => day.day);
    expect(done.length).toBeGreaterThan(1);
    expect(done.length).toBeLessThan(30);

    const requestsBefore = sim.stats().requests;
    const resumed = await run('archive', args, env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`${done.length} day(s) it completed are not fetched again`);
    const second = (await manifests(lake))[1]!;
    expect(second.resumed).toEqual({ runId: manifest!.runId, days: done });
    expect(second.days.map((day) => day.day)).toEqual(
      Array.from({ length: 30 }, (_, i) => addDays('2026-04-01', i)).filter((day) => !done.includes(day)),
    );
    // Only the days still to do were fetched: one request per page written.
    expect(sim.stats().requests - requestsBefore).toBe(second.totals.pages);

    const full = await run('archive', [...args, '--full'], env);
    expect(full.code).toBe(0);
    expect((await manifests(lake))[2]!.days).toHaveLength(30);
    const ordinary = await run('archive', args, env); // after a run that was not interrupted: every day again
    expect(ordinary.code).toBe(0);
    expect((await manifests(lake))[3]!.days).toHaveLength(30);
  }, 180_000);
});

describe('counts agree across the progress line, summary, manifest and report', () => {
  it('one drift re-archive is one in the progress line, the summary and the manifest; so are the pages', async () => {
    sim = await startSimulator({
      from: '2026-05-01',
      to: '2026-05-02',
      chatsPerDay: () => 80,
      faults: { drift: [{ day: '2026-05-02', afterRequests: 1, addChats: 3, position: 'random' }] },
    });
    const lake = join(await tempDir(), 'lake');
    const result = await run(
      'archive',
      ['--from', '2026-05-01', '--to', '2026-05-02', '--api-url', sim.url, '--out', lake, '--concurrency', '4'],
      { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat },
    );
    expect(result.code, result.stderr).toBe(0);
    const [manifest] = await manifests(lake);
    const lastProgress = result.stderr
      .split('\n')
      .filter((line) => /\[\d+\/\d+ days, \d+ pages/.test(line))
      .at(-1)!;
    const progressPages = Number(/, (\d+) pages, \d+ retries\]/.exec(lastProgress)![1]);
    const summary = /(\d+) pages, (\d+) chats, \d+ retries, (\d+) drift re-archives/.exec(result.stdout)!;
    expect(manifest!.totals.drift).toBe(1);
    expect(result.stderr.match(/the day will be archived again/g)).toHaveLength(1);
    expect(Number(summary[3])).toBe(1);
    expect(Number(summary[1])).toBe(progressPages);
    expect(manifest!.totals.pages).toBe(progressPages);
    expect(Number(summary[2])).toBe(manifest!.totals.chats);
    expect(manifest!.totals.chats).toBe(sim.chats('2026-05-01').length + sim.chats('2026-05-02').length);
  }, 60_000);

  it('today is archived but reported in progress, never complete', async () => {
    const today = localDay(new Date(), 'UTC');
    sim = await startSimulator({ from: addDays(today, -1), to: today, chatsPerDay: () => 5 });
    const lake = join(await tempDir(), 'lake');
    const result = await run('archive', ['--from', addDays(today, -1), '--api-url', sim.url, '--out', lake], {
      LIVECHAT_LOGIN: sim.login,
      LIVECHAT_PAT: sim.pat,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`in-progress ${today}: the day has not ended in UTC`));
    expect(result.stderr).not.toMatch(new RegExp(`\\bcomplete ${today}`));
    const [manifest] = await manifests(lake);
    expect(manifest!.days.find((day) => day.day === today)?.status).toBe('in-progress');
    expect(manifest!.days.find((day) => day.day === addDays(today, -1))?.status).toBe('complete');
  }, 60_000);
});

describe('erase keeps the identifier out of terminal output', () => {
  it('ERASE_VISITOR_ID erases without the identifier appearing anywhere in the output (npm echoes flags)', async () => {
    sim = await startSimulator({ from: '2026-05-01', to: '2026-05-01', chatsPerDay: () => 30 });
    const lake = join(await tempDir(), 'lake');
    const archived = await run(
      'archive',
      ['--from', '2026-05-01', '--to', '2026-05-01', '--api-url', sim.url, '--out', lake],
      {
        LIVECHAT_LOGIN: sim.login,
        LIVECHAT_PAT: sim.pat,
      },
    );
    expect(archived.code).toBe(0);
    const visitorId = sim.chats('2026-05-01')[0]!.visitor_id as string;
    expect(visitorId).toMatch(/\S{6,}/);

    const erased = await run('erase', ['--out', lake], { ERASE_VISITOR_ID: visitorId });
    expect(erased.code, erased.stderr).toBe(0);
    expect(erased.stdout).toMatch(/^erased [1-9]\d* chats? from [1-9]\d* files?/m);
    expect(erased.stdout + erased.stderr).not.toContain(visitorId);

    // The flag works too, but npm prints it before the command starts: why the variable exists.
    const flagged = await run('erase', ['--out', lake, '--visitor-id', visitorId, '--dry-run']);
    expect(flagged.code).toBe(0);
    expect(flagged.stdout + flagged.stderr).toContain(visitorId);
  }, 90_000);
});

async function waitFor(output: () => string, pattern: RegExp, timeoutMs = 45_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match[1] ?? match[0];
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output so far:\n${output()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as { port: number };
  await new Promise((closed) => server.close(closed));
  return port;
}
