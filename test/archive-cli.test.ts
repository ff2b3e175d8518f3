import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { planDay } from '#sources/v2/day-planner.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { archivePage } from '#sources/v2/page-archiver.ts';
import { runArchiveCli } from './support/cli-runner.ts';
import { chatIdsByDay, duplicatesOf, listFiles, runNamedOnce } from './support/lake-reader.ts';

const FROM = '2026-05-01';
const TO = '2026-05-07';
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const runCli = runArchiveCli;

async function archiveFromSimulator(options: Omit<SimulatorOptions, 'from' | 'to'>, extraArgs: string[] = []) {
  sim = await startSimulator({ from: FROM, to: TO, ...options });
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const result = await runCli(
    ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--concurrency', '6', ...extraArgs],
    { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat },
  );
  return { ...result, out, sim };
}

async function expectEveryChatExactlyOnce(out: string, simulator: RunningSimulator) {
  const lake = await chatIdsByDay(out);
  let checked = 0;
  for (const day of [
    '2026-05-01',
    '2026-05-02',
    '2026-05-03',
    '2026-05-04',
    '2026-05-05',
    '2026-05-06',
    '2026-05-07',
  ]) {
    const ids = lake.get(day) ?? [];
    expect(duplicatesOf(ids), `duplicates on ${day}`).toEqual([]);
    expect([...ids].sort(), `chats of ${day}`).toEqual(
      simulator
        .chats(day)
        .map((chat) => chat.id)
        .sort(),
    );
    checked += ids.length;
  }
  return checked;
}

async function manifestOf(out: string): Promise<RunManifest> {
  const [key] = (await listFiles(join(out, 'manifests', 'runs'))).filter((file) => file.endsWith('.json'));
  return JSON.parse(await readFile(join(out, 'manifests', 'runs', key!), 'utf8')) as RunManifest;
}

describe('npm run archive against the simulator', () => {
  it('archives every chat exactly once per partition through faults and drift', async () => {
    const { code, stdout, out, sim } = await archiveFromSimulator({
      seed: 7,
      faults: {
        rate429: 0.05,
        retryAfterSeconds: 0,
        rate5xx: 0.05,
        rateMalformed: 0.03,
        rateHtml: 0.03,
        rateReset: 0.03,
        rateEmptyPage: 0.03,
        drift: [
          { day: '2026-05-02', afterRequests: 0, addChats: 2, position: 'newest' }, // before page 1 is planned
          { day: '2026-05-03', afterRequests: 1, addChats: 1, position: 'random' }, // between pages 1 and 2
          { day: '2026-05-04', afterRequests: 1, addChats: 30, position: 'newest' }, // adds a page
        ],
      },
    });
    expect(stdout).toMatch(/complete/);
    expect(code).toBe(EXIT.ok);
    const checked = await expectEveryChatExactlyOnce(out, sim);
    expect(checked).toBe(sim.allChats().length);
    const manifest = await manifestOf(out);
    expect(manifest.complete).toBe(true);
    expect(manifest.totals.chats).toBe(checked);
    expect(manifest.totals.drift).toBeGreaterThan(0);
    expect(manifest.days.find((day) => day.day === '2026-05-04')?.attempts).toBeGreaterThan(1);
    expect(await listFiles(out)).not.toContainEqual(expect.stringMatching(/\.partial$/));
  });

  it('keeps every archived chat when LiveChat has emptied a day (retention), and says how many it kept', async () => {
    const days = ['2024-03-03', '2024-03-04', '2024-03-05'] as const;
    const [first, , last] = days;
    sim = await startSimulator({ from: first, to: last });
    const archived = days.flatMap((day) => sim!.chats(day).map((chat) => chat.id));
    // The bundled simulator's seed-42 days (the issue counted 188 and 25 with an older simulator).
    expect(archived).toHaveLength(190);
    const emptied = sim.chats(first).length;
    expect(emptied).toBe(52);
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const args = ['--from', first, '--to', last, '--out', out, '--api-url', sim.url];
    const env = () => ({ LIVECHAT_LOGIN: sim!.login, LIVECHAT_PAT: sim!.pat });
    expect((await runCli(args, env())).code).toBe(EXIT.ok);

    // Two months later: a Starter license (retention 2 months) on 2024-05-04 serves 2024-03-04 on, so
    // LiveChat answers total: 0 for 2024-03-03 (the same seed serves the same chats for the other days).
    await sim.close();
    sim = await startSimulator({ from: first, to: last, retention: { months: 2, today: '2024-05-04' } });
    const emptiedDay = await createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials }).listChats({
      dateFrom: first,
      dateTo: first,
      timeZone: 'UTC',
      page: 1,
    });
    expect(emptiedDay.total).toBe(0);
    const again = await runCli([...args.slice(0, -1), sim.url], env());
    const lake = [...(await chatIdsByDay(out)).values()].flat();
    expect(duplicatesOf(lake)).toEqual([]);
    expect(lake.sort()).toEqual([...archived].sort());
    expect(again.code).toBe(EXIT.ok);
    expect(again.stdout).toContain(`${emptied} archived chats kept that LiveChat no longer returned`);
    expect(again.stdout).toContain('days 2/3 complete, 1 kept');
    expect(again.stdout).toContain(`kept ${first}: LiveChat returned 0 of the day's chats, ${emptied} more kept`);
    const manifests = (await listFiles(join(out, 'manifests', 'runs'))).filter((file) => file.endsWith('.json')).sort();
    const latest = JSON.parse(await readFile(join(out, 'manifests', 'runs', manifests.at(-1)!), 'utf8')) as RunManifest;
    expect(latest.totals).toMatchObject({ kept: emptied, daysKept: 1, daysComplete: 2 });
    expect(latest.complete).toBe(true);
    // Never `complete` by the API's count alone: the day holds chats LiveChat no longer returns.
    expect(latest.days.find((day) => day.day === first)).toMatchObject({
      status: 'kept',
      chatsWritten: 0,
      chatsKept: emptied,
    });
    // The day plan of the second run says so too (table day_plans: kept, chats).
    const plans = (await listFiles(join(out, 'manifests', 'day-plans', `dt=${first}`))).filter((f) =>
      f.endsWith('.json'),
    );
    const plan = JSON.parse(
      await readFile(
        join(out, 'manifests', 'day-plans', `dt=${first}`, plans.find((f) => f.includes(latest.runId))!),
        'utf8',
      ),
    ) as Record<string, unknown>;
    expect(plan).toMatchObject({ total: 0, kept: emptied, chats: emptied });
    // day_completeness says the day holds chats LiveChat no longer returns, and does not call it complete.
    const rows = await runNamedOnce(out, 'day_completeness', { from: first, to: last });
    expect(rows.find((row) => row['dt'] === first)).toMatchObject({
      expected_chats: 0,
      archived_chats: emptied,
      kept_chats: emptied,
      missing: 0,
      status: 'kept',
    });
    expect(rows.filter((row) => row['dt'] !== first).map((row) => row['status'])).toEqual(['complete', 'complete']);
    // Each day is one settled file per table: no pass file is left behind.
    expect(
      (await listFiles(join(out, 'chats'))).filter((file) => !/settled-[0-9a-f]{16}-part-00001\.json\.gz$/.test(file)),
    ).toEqual([]);
  });

  it('warns, naming projectionStart, when it archives days Athena would not show, and archives them', async () => {
    sim = await startSimulator({ from: '2019-12-31', to: '2020-01-01', chatsPerDay: () => 3 });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const result = await runCli(['--from', '2019-12-31', '--to', '2020-01-01', '--out', out, '--api-url', sim.url], {
      LIVECHAT_LOGIN: sim.login,
      LIVECHAT_PAT: sim.pat,
    });
    expect(result.code).toBe(EXIT.ok);
    const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning:'));
    expect(warnings).toEqual([expect.stringMatching(/2019-12-31 is before projectionStart \(2020-01-01\).*cdk\.json/)]);
    expect((await chatIdsByDay(out)).get('2019-12-31')).toHaveLength(3);
  });

  it('reports a day that keeps changing as incomplete and exits non-zero', async () => {
    const { code, stdout, out } = await archiveFromSimulator(
      { faults: { drift: [{ day: '2026-05-05', afterRequests: 1, addChats: 1, times: 50 }] } },
      ['--max-attempts', '3'],
    );
    expect(code).toBe(EXIT.incomplete);
    expect(stdout).toMatch(/INCOMPLETE/);
    expect(stdout).toMatch(/incomplete 2026-05-05: the day kept changing/);
    const manifest = await manifestOf(out);
    expect(manifest.complete).toBe(false);
    expect(manifest.days.find((day) => day.day === '2026-05-05')).toMatchObject({ status: 'incomplete', attempts: 3 });
  });

  it('applies filters to every request', async () => {
    const { code, out, sim } = await archiveFromSimulator({}, ['--type', 'missed_chat']);
    expect(code).toBe(EXIT.ok);
    const lake = await chatIdsByDay(out);
    const expected = sim
      .allChats()
      .filter((chat) => chat.type === 'missed_chat')
      .map((chat) => chat.id);
    expect([...lake.values()].flat().sort()).toEqual(expected.sort());
  });

  it('a redelivered page task leaves the lake unchanged', async () => {
    sim = await startSimulator({ from: FROM, to: FROM });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const sink = new LocalFileSink(out);
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials });
    const now = () => new Date('2026-05-02T03:00:00Z');
    const plan = await planDay(dayTask('run-1', FROM, 1, {}, 'UTC'), 'p1', client);
    for (const task of plan.pageTasks) await archivePage(task, { client, sink, now });
    const snapshot = async () =>
      Promise.all(
        (await listFiles(out)).map(async (file) => [
          file,
          createHash('sha256')
            .update(await readFile(join(out, file)))
            .digest('hex'),
        ]),
      );
    const before = await snapshot();
    await archivePage(plan.pageTasks[1]!, { client, sink, now });
    await archivePage(plan.pageTasks[0]!, { client, sink, now });
    expect(await snapshot()).toEqual(before);
    expect(before.length).toBe(plan.pages);
  });
});

describe('npm run archive: refusals', () => {
  it('stops within seconds on a wrong API key, with one clear line and no chat file', async () => {
    sim = await startSimulator({ from: FROM, to: TO });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/archive.ts', '--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url],
      { env: { ...process.env, LIVECHAT_LOGIN: sim.login, LIVECHAT_API_KEY: 'definitely-wrong-key' }, stdio: 'pipe' },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(code).toBe(EXIT.auth);
    const errors = stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toEqual([expect.stringMatching(/authentication failed \(401\)/)]);
    expect(stderr + stdout).not.toContain('definitely-wrong-key');
    expect((await listFiles(out)).filter((file) => file.endsWith('.json.gz'))).toEqual([]);
  });

  it.each([
    [['--from', '2026-02-30'], /--from must be a date as YYYY-MM-DD, got "2026-02-30"/],
    [['--from', '20260501'], /--from must be a date/],
    [['--from', '2026-05-07', '--to', '2026-05-01'], /--from 2026-05-07 is after --to 2026-05-01/],
    [['--to', '2026-05-01'], /--from is required/],
    [['--from', '2026-05-01', '--colour', 'red'], /Unknown option '--colour'/],
    [['--from', '2026-05-01', '--type', 'chats'], /--type: /],
    [['--from', '2026-05-01', '--rate', 'great'], /--rate: /],
    [['--from', '2026-05-01', '--has-goal', 'yes'], /--has-goal must be a whole number from 0 to 1/],
    [['--from', '2026-05-01', '--concurrency', '0'], /--concurrency must be a whole number from 1 to 64/],
    [['--from', '2026-05-01', '--group=-1'], /--group must be a whole number/],
    [['--from', '2026-05-01', '--api-url', 'ftp://x'], /--api-url must be an http\(s\) URL/],
    [['--from', '2026-05-01', '--out', 'a', '--bucket', 'b'], /either --out or --bucket/],
    [['--from', '2026-05-01', '--prefix', 'p'], /--prefix needs --bucket/],
    [['--from', '1990-01-01', '--to', '2026-01-01'], /more than the maximum/],
  ])('refuses %j with a usage error and writes nothing', async (args, message) => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const hasOut = args.includes('--out') || args.includes('--bucket');
    const result = await runCli(hasOut ? args : [...args, '--out', out], {
      LIVECHAT_LOGIN: 'x',
      LIVECHAT_API_KEY: 'y',
    });
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr.split('\n')[0]).toMatch(message);
    expect(result.stderr.split('\n')[0]).toMatch(/^error: /);
    expect(await listFiles(out)).toEqual([]);
  });

  it('refuses to run without credentials', async () => {
    const result = await runCli(['--from', '2026-05-01'], {});
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/LIVECHAT_LOGIN \(agent e-mail\) and LIVECHAT_PAT .*, or LIVECHAT_BEARER_TOKEN/);
  });
});
