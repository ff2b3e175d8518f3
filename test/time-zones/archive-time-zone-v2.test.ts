import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { addDays } from '#shared/day-range.ts';
import { localDay } from '#shared/time-zone.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { expectLakeCutIn } from './zoned-lake.ts';

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function archive(out: string, zone: string | undefined, from: string, to: string) {
  return runArchiveCli(
    ['--from', from, '--to', to, '--out', out, '--api-url', sim!.url, ...(zone ? ['--time-zone', zone] : [])],
    { LIVECHAT_LOGIN: sim!.login, LIVECHAT_API_KEY: sim!.apiKey },
  );
}

describe('v2: every dt partition holds the chats that started on that day in --time-zone', () => {
  it.each([
    // [archive zone, account zone, days]: both Warsaw DST changes, a zone east and one west of UTC.
    ['Europe/Warsaw', 'America/Los_Angeles', '2026-03-28', '2026-03-30'],
    ['Europe/Warsaw', 'America/Los_Angeles', '2026-10-24', '2026-10-26'],
    ['Asia/Tokyo', 'UTC', '2026-06-10', '2026-06-12'],
    ['America/Los_Angeles', 'Asia/Tokyo', '2026-11-01', '2026-11-02'],
  ])('archive zone %s, account zone %s, %s..%s', async (zone, accountZone, from, to) => {
    sim = await startSimulator({
      seed: 17,
      from: addDays(from, -1),
      to: addDays(to, 1),
      chatsPerDay: 80,
      timeZone: accountZone,
      // Chats that end while the second day is paged (after its page 1), and the usual faults.
      faults: {
        rate429: 0.05,
        retryAfterSeconds: 0,
        rate5xx: 0.05,
        drift: [{ day: addDays(from, 1), afterRequests: 1, addChats: 3, position: 'random' }],
      },
    });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-'));
    const { code, stderr } = await archive(out, zone, from, to);
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(EXIT.ok);
    expect(sim.stats().faultsInjected['drift']).toBe(1);
    await expectLakeCutIn(out, zone, from, to, (day) => sim!.chats(day, zone));
    // Every request said which zone its days are in.
    expect(sim.stats().timeZoneParams).toEqual({ [zone]: sim.stats().requests });
    // The account's own days differ: the test would catch a request without `timezone`.
    expect(sim.chats(from, zone).map((chat) => chat.id)).not.toEqual(sim.chats(from).map((chat) => chat.id));

    const [manifestFile] = (await listFiles(join(out, 'manifests', 'runs'))).filter((file) => file.endsWith('.json'));
    const manifest = JSON.parse(await readFile(join(out, 'manifests', 'runs', manifestFile!), 'utf8')) as RunManifest;
    expect(manifest.timeZone).toBe(zone);
  });

  it('defaults to UTC and records it', async () => {
    sim = await startSimulator({
      seed: 5,
      from: '2026-05-01',
      to: '2026-05-03',
      chatsPerDay: 20,
      timeZone: 'Asia/Tokyo',
    });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-'));
    const { code, stderr } = await archive(out, undefined, '2026-05-02', '2026-05-02');
    expect(code).toBe(EXIT.ok);
    expect(stderr).toContain('(UTC)');
    await expectLakeCutIn(out, 'UTC', '2026-05-02', '2026-05-02', (day) => sim!.chats(day, 'UTC'));
    expect(await listFiles(join(out, 'manifests', 'time-zone'))).toEqual(['UTC.json']);
  });

  it('refuses a run into a lake cut in another zone, with one line saying why, and writes nothing', async () => {
    sim = await startSimulator({ seed: 5, from: '2026-05-01', to: '2026-05-03', chatsPerDay: 20 });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-'));
    expect((await archive(out, 'Europe/Warsaw', '2026-05-02', '2026-05-02')).code).toBe(EXIT.ok);
    const before = await listFiles(out);

    const { code, stderr, stdout } = await archive(out, 'UTC', '2026-05-01', '2026-05-03');
    expect(code).toBe(EXIT.usage);
    const errors = stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error: the lake .* has its days cut in time zone Europe\/Warsaw .*, this run would cut them in UTC: mixing zones puts chats near midnight into two partitions/,
    );
    expect(stdout).toBe('');
    expect(await listFiles(out)).toEqual(before);

    // The same zone, spelled in another case, is the same zone.
    expect((await archive(out, 'europe/warsaw', '2026-05-03', '2026-05-03')).code).toBe(EXIT.ok);
  });

  it('refuses an unknown --time-zone with one clear line before any request', async () => {
    sim = await startSimulator({ seed: 5, from: '2026-05-01', to: '2026-05-03' });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-'));
    for (const zone of ['Mars/Olympus', '+02:00']) {
      const { code, stderr } = await archive(out, zone, '2026-05-01', '2026-05-01');
      expect(code).toBe(EXIT.usage);
      expect(stderr.split('\n')[0]).toBe(
        `error: --time-zone must be an IANA time zone such as UTC, Europe/Warsaw or America/Los_Angeles, got "${zone}"`,
      );
    }
    expect(sim.stats().requests).toBe(0);
    expect(await listFiles(out)).toEqual([]);
  });

  it('cuts the default --to at today in the zone', async () => {
    const { parseArchiveArgs } = await import('#cli/archive-args.ts');
    const args = parseArchiveArgs(['--from', '2026-01-01', '--time-zone', 'Pacific/Kiritimati']);
    expect(args.days.at(-1)).toBe(localDay(new Date(), 'Pacific/Kiritimati'));
    expect(args.timeZone).toBe('Pacific/Kiritimati');
  });
});
