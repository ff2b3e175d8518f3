import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ArchiveCommandIo, EXIT } from '#cli/archive-command.ts';
import { findSchemaViolations } from '#lake/chat-columns.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator, type V36SimulatorOptions } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { chatIdsByDay, duplicatesOf, latestRunManifest, listFiles } from '#test/support/lake-reader.ts';
import { expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

const FROM = '2026-05-01';
const TO = '2026-05-03';
const DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'];
let sim: RunningV36Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  v36Overrides?: ArchiveCommandIo['v36Overrides'],
) {
  return runArchiveCli(args, env, v36Overrides ? { v36Overrides } : {});
}

function patEnv(simulator: RunningV36Simulator) {
  return { LIVECHAT_ACCOUNT_ID: simulator.accountId, LIVECHAT_PAT: simulator.token };
}

async function archiveV36(
  options: Omit<V36SimulatorOptions, 'from' | 'to'>,
  v36Overrides: ArchiveCommandIo['v36Overrides'] = {},
  out?: string,
) {
  sim ??= await startV36Simulator({ from: FROM, to: TO, ...options });
  const dir = out ?? (await mkdtemp(join(tmpdir(), 'lake-v36-')));
  const result = await runCli(
    ['--from', FROM, '--to', TO, '--out', dir, '--api-url', sim.url, '--source', 'v3.6', '--concurrency', '6'],
    patEnv(sim),
    { pageLimit: 20, ...v36Overrides },
  );
  return { ...result, out: dir, sim };
}

function expectEveryChatExactlyOnce(out: string, simulator: RunningV36Simulator): Promise<number> {
  return expectLakeMatchesSimulator(out, simulator, DAYS);
}

async function chatFiles(out: string): Promise<string[]> {
  return (await listFiles(out)).filter((file) => file.startsWith('chats/'));
}

describe('npm run archive --source v3.6 against the v3.6 simulator', () => {
  it('archives every chat exactly once per partition through faults, drift and an expired cursor', async () => {
    const { code, stdout, out, sim } = await archiveV36({
      seed: 7,
      chatsPerDay: 70,
      faults: {
        rate429: 0.05,
        retryAfterSeconds: 0,
        rate5xx: 0.05,
        rateMalformed: 0.03,
        script: [{ day: '2026-05-02', page: 2, fault: 'reset' }],
        drift: [{ day: '2026-05-02', afterRequests: 2, addChats: 3 }],
      },
      cursorExpiry: [{ day: '2026-05-03', page: 2 }],
    });
    expect(code, stdout).toBe(EXIT.ok);
    expect(await expectEveryChatExactlyOnce(out, sim)).toBe(DAYS.reduce((sum, day) => sum + sim.chats(day).length, 0));
    expect(sim.stats().faultsInjected['drift']).toBe(1);
    expect(sim.stats().faultsInjected['cursorExpired']).toBe(1);
    const manifest = await latestRunManifest(out);
    expect(manifest.complete).toBe(true);
    expect(manifest.days.find((day) => day.day === '2026-05-02')!.attempts).toBe(2);
    expect((await chatFiles(out)).every((file) => /\/settled-[0-9a-f]{16}-part-00001\.json\.gz$/.test(file))).toBe(
      true,
    );
  });

  it("reads each slice through bounded tasks, as the worker does, through drift and a later task's expired cursor", async () => {
    // 40 chats a day on pages of 5: 8 cursor pages per slice, read 2 per task (4 tasks a slice).
    const { code, stdout, out, sim } = await archiveV36(
      {
        seed: 5,
        chatsPerDay: 40,
        faults: { drift: [{ day: '2026-05-02', afterRequests: 4, addChats: 2 }] },
        cursorExpiry: [{ day: '2026-05-03', page: 5 }],
      },
      { pageLimit: 5, pagesPerTask: 2 },
    );
    expect(code, stdout).toBe(EXIT.ok);
    expect(await expectEveryChatExactlyOnce(out, sim)).toBe(DAYS.reduce((sum, day) => sum + sim.chats(day).length, 0));
    expect(sim.stats().faultsInjected['drift']).toBe(1);
    expect(sim.stats().faultsInjected['cursorExpired']).toBe(1);
    const manifest = await latestRunManifest(out);
    expect(manifest.complete).toBe(true);
    expect(manifest.days.find((day) => day.day === '2026-05-02')!.attempts).toBe(2);
  });

  it('writes records the strict lake schema, the DuckDB view and every named query accept', async () => {
    const { code, out } = await archiveV36({ seed: 3, chatsPerDay: 40 });
    expect(code).toBe(EXIT.ok);
    for (const file of await chatFiles(out)) {
      for (const record of await decodeNdjsonGzip<Record<string, unknown>>(await readFile(join(out, file)))) {
        expect(findSchemaViolations(record), file).toEqual([]);
      }
    }
    const lake = await openLocalLake(out, { strict: true });
    try {
      const [row] = await lake.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM chats');
      expect(row!.n).toBe(DAYS.reduce((sum, day) => sum + sim!.chats(day).length, 0));
      for (const named of NAMED_QUERIES) await lake.runNamed(named.name, ALL_DAYS);
    } finally {
      await lake.close();
    }
  });

  it('slices a busy day by hour, and a re-run with other slicing leaves each chat once', async () => {
    const busy = await archiveV36(
      { seed: 11, chatsPerDay: (day) => (day === '2026-05-02' ? 120 : 30) },
      { busyDayThreshold: 100 },
    );
    expect(busy.code).toBe(EXIT.ok);
    const files = await chatFiles(busy.out);
    // Every day settled into one file per table, whatever its slicing.
    expect(files.filter((file) => file.includes('dt=2026-05-02/'))).toHaveLength(1);
    const manifest = await latestRunManifest(busy.out);
    expect(manifest.totals.pages).toBeGreaterThan(manifest.days.length);
    await expectEveryChatExactlyOnce(busy.out, busy.sim);

    // Same lake, now every day as one slice: settling merges both passes, each thread once.
    const again = await archiveV36({}, { busyDayThreshold: 10_000 }, busy.out);
    expect(again.code).toBe(EXIT.ok);
    expect((await chatFiles(busy.out)).some((file) => file.includes('v36-'))).toBe(false);
    await expectEveryChatExactlyOnce(busy.out, busy.sim);
  });

  it('merges a day archived from v2 and again from v3.6 by id: each chat once', async () => {
    const v2 = await startSimulator({ from: FROM, to: TO, seed: 5, chatsPerDay: 30 });
    const out = await mkdtemp(join(tmpdir(), 'lake-mixed-'));
    try {
      const first = await runCli(['--from', FROM, '--to', TO, '--out', out, '--api-url', v2.url], {
        LIVECHAT_LOGIN: v2.login,
        LIVECHAT_API_KEY: v2.apiKey,
      });
      expect(first.code).toBe(EXIT.ok);
    } finally {
      await v2.close();
    }
    const { code } = await archiveV36({ seed: 5, chatsPerDay: 30 }, {}, out);
    expect(code).toBe(EXIT.ok);
    await expectEveryChatExactlyOnce(out, sim!);
  });

  it('leaves a day incomplete (exit 1) when it keeps changing up to --max-attempts, writing no duplicate', async () => {
    sim = await startV36Simulator({
      from: FROM,
      to: TO,
      seed: 9,
      chatsPerDay: 50,
      faults: { drift: [{ day: '2026-05-01', afterRequests: 2, addChats: 1, times: 50, position: 'random' }] },
    });
    const out = await mkdtemp(join(tmpdir(), 'lake-v36-'));
    const { code, stdout } = await runCli(
      ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--source', 'v3.6', '--max-attempts', '3'],
      patEnv(sim),
      { pageLimit: 10 },
    );
    expect(code).toBe(EXIT.incomplete);
    expect(stdout).toContain('incomplete 2026-05-01');
    const lake = await chatIdsByDay(out);
    expect(duplicatesOf(lake.get('2026-05-01') ?? [])).toEqual([]);
    const manifest = await latestRunManifest(out);
    expect(manifest.days.find((day) => day.day === '2026-05-01')).toMatchObject({ status: 'incomplete', attempts: 3 });
  });

  it('accepts a Bearer token and sends --region', async () => {
    sim = await startV36Simulator({ from: FROM, to: TO, chatsPerDay: 10, region: 'fra' });
    const out = await mkdtemp(join(tmpdir(), 'lake-v36-'));
    const args = [
      '--from',
      FROM,
      '--to',
      TO,
      '--out',
      out,
      '--api-url',
      sim.url,
      '--source',
      'v3.6',
      '--region',
      'fra',
    ];
    const { code } = await runCli(args, { LIVECHAT_BEARER_TOKEN: sim.bearerToken });
    expect(code).toBe(EXIT.ok);
    await expectEveryChatExactlyOnce(out, sim);
  });

  it('refuses missing v3.6 credentials (exit 2) and a wrong token (exit 3) without printing it', async () => {
    sim = await startV36Simulator({ from: FROM, to: TO, chatsPerDay: 10 });
    const out = await mkdtemp(join(tmpdir(), 'lake-v36-'));
    const args = ['--from', FROM, '--to', TO, '--out', out, '--api-url', sim.url, '--source', 'v3.6'];
    const missing = await runCli(args, { LIVECHAT_LOGIN: 'x', LIVECHAT_API_KEY: 'y' });
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT');

    const wrong = await runCli(args, { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: 'not-the-secret-pat' });
    expect(wrong.code).toBe(EXIT.auth);
    expect(wrong.stderr).toContain('LIVECHAT_PAT');
    expect(wrong.stderr + wrong.stdout).not.toContain('not-the-secret-pat');
    expect(await chatFiles(out)).toEqual([]);

    const badSource = await runCli([...args.slice(0, -1), 'v4'], {});
    expect(badSource.code).toBe(EXIT.usage);
    const badRegion = await runCli([...args, '--region', 'Frankfurt!'], {});
    expect(badRegion.code).toBe(EXIT.usage);
  });
});
