import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { addDays } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { type SliceId, sliceIds, sliceRange } from '#sources/v36/slice-layout.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { expectLakeCutIn } from './zoned-lake.ts';

let v36: RunningV36Simulator | undefined;
let v2: RunningSimulator | undefined;
afterEach(async () => {
  await v36?.close();
  await v2?.close();
  v36 = undefined;
  v2 = undefined;
});

/** Parses RFC 3339 with microseconds to whole microseconds since the epoch. */
const micros = (text: string) => {
  const fraction = /\.(\d{6})/.exec(text)![1]!;
  return (Date.parse(text.replace(/\.\d{6}/, '')) / 1000) * 1e6 + Number(fraction);
};

function ranges(day: string, zone: string) {
  return sliceIds(true, day, zone).map((slice) => ({ slice, ...sliceRange(day, slice as SliceId, zone) }));
}

describe('v3.6 slices are cut at local midnights and local hours', () => {
  it('writes a UTC day as before', () => {
    expect(sliceRange('2026-05-01', 'day', 'UTC')).toEqual({
      from: '2026-05-01T00:00:00.000000Z',
      to: '2026-05-01T23:59:59.999999Z',
    });
  });

  it('gives the Warsaw day DST starts 23 hourly slices, with the offset of each end', () => {
    const slices = ranges('2026-03-29', 'Europe/Warsaw');
    expect(slices).toHaveLength(23);
    expect(slices[0]).toEqual({
      slice: 'h00',
      from: '2026-03-29T00:00:00.000000+01:00',
      to: '2026-03-29T00:59:59.999999+01:00',
    });
    expect(slices[1]!.to).toBe('2026-03-29T01:59:59.999999+01:00');
    expect(slices[2]!.from).toBe('2026-03-29T03:00:00.000000+02:00');
    expect(slices.at(-1)).toEqual({
      slice: 'h22',
      from: '2026-03-29T23:00:00.000000+02:00',
      to: '2026-03-29T23:59:59.999999+02:00',
    });
  });

  it('gives the Warsaw day DST ends 25 hourly slices: the repeated hour is two slices, by offset', () => {
    const slices = ranges('2026-10-25', 'Europe/Warsaw');
    expect(slices).toHaveLength(25);
    expect(slices[2]).toMatchObject({
      from: '2026-10-25T02:00:00.000000+02:00',
      to: '2026-10-25T02:59:59.999999+02:00',
    });
    expect(slices[3]).toMatchObject({
      from: '2026-10-25T02:00:00.000000+01:00',
      to: '2026-10-25T02:59:59.999999+01:00',
    });
    expect(slices.at(-1)).toMatchObject({ slice: 'h24', to: '2026-10-25T23:59:59.999999+01:00' });
    expect(sliceRange('2026-10-25', 'day', 'Europe/Warsaw')).toEqual({
      from: '2026-10-25T00:00:00.000000+02:00',
      to: '2026-10-25T23:59:59.999999+01:00',
    });
  });

  it.each([
    ['Europe/Warsaw', '2026-03-28', '2026-03-31'],
    ['Europe/Warsaw', '2026-10-24', '2026-10-27'],
    ['Asia/Tokyo', '2026-06-30', '2026-07-02'],
    ['America/Los_Angeles', '2026-03-07', '2026-03-10'],
  ])('leaves no microsecond between slices or days, and none in two (%s %s..%s)', (zone, from, to) => {
    const all = [];
    for (let day = from; day <= to; day = addDays(day, 1)) {
      const slices = ranges(day, zone);
      const whole = sliceRange(day, 'day', zone);
      expect(slices[0]!.from).toBe(whole.from);
      expect(slices.at(-1)!.to).toBe(whole.to);
      all.push(...slices);
    }
    for (let index = 1; index < all.length; index += 1) {
      expect(micros(all[index]!.from) - micros(all[index - 1]!.to), `after ${all[index - 1]!.to}`).toBe(1);
    }
  });
});

describe('v3.6: every dt partition holds the chats that started on that day in --time-zone', () => {
  async function archiveV36(out: string, zone: string, from: string, to: string, busyDayThreshold?: number) {
    return runArchiveCli(
      ['--from', from, '--to', to, '--out', out, '--api-url', v36!.url, '--source', 'v3.6', '--time-zone', zone],
      { LIVECHAT_ACCOUNT_ID: v36!.accountId, LIVECHAT_PAT: v36!.token },
      { v36Overrides: { pageLimit: 20, ...(busyDayThreshold ? { busyDayThreshold } : {}) } },
    );
  }

  it.each([
    ['Europe/Warsaw', 'America/Los_Angeles', '2026-03-28', '2026-03-30', 'hourly'],
    ['Europe/Warsaw', 'America/Los_Angeles', '2026-10-24', '2026-10-26', 'hourly'],
    ['Europe/Warsaw', 'UTC', '2026-10-24', '2026-10-26', 'whole-day'],
    ['Asia/Tokyo', 'UTC', '2026-06-10', '2026-06-12', 'hourly'],
    ['America/Los_Angeles', 'Asia/Tokyo', '2026-11-01', '2026-11-02', 'whole-day'],
  ])('archive zone %s, account zone %s, %s..%s, %s slices', async (zone, accountZone, from, to, slicing) => {
    v36 = await startV36Simulator({
      seed: 17,
      from: addDays(from, -1),
      to: addDays(to, 1),
      chatsPerDay: 30,
      timeZone: accountZone,
    });
    const out = await mkdtemp(join(tmpdir(), 'lake-tz-v36-'));
    const { code, stderr } = await archiveV36(out, zone, from, to, slicing === 'hourly' ? 1 : undefined);
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(EXIT.ok);
    await expectLakeCutIn(out, zone, from, to, (day) => v36!.chats(day, zone));
    const froms = v36.stats().bodies.flatMap((body) => {
      const filters = body['filters'] as { from?: string } | undefined;
      return filters?.from ? [filters.from] : [];
    });
    expect(froms.length).toBeGreaterThan(0);
    if (zone !== 'UTC') expect(froms.every((text) => /[+-]\d{2}:\d{2}$/.test(text))).toBe(true);
  });

  it.each([
    ['hourly', 1],
    ['whole-day', undefined],
  ] as const)(
    'Europe/Warsaw, account in America/Los_Angeles: chats that end while the DST day is paged (%s slices) land once, in their day',
    async (_slicing, busyDayThreshold) => {
      v36 = await startV36Simulator({
        seed: 29,
        from: '2026-10-23',
        to: '2026-10-27',
        chatsPerDay: 60,
        timeZone: 'America/Los_Angeles',
        faults: {
          rate429: 0.05,
          retryAfterSeconds: 0,
          drift: [{ day: '2026-10-25', afterRequests: 2, addChats: 3, position: 'random', times: 2 }],
        },
      });
      const out = await mkdtemp(join(tmpdir(), 'lake-tz-v36-'));
      const { code, stderr } = await archiveV36(out, 'Europe/Warsaw', '2026-10-24', '2026-10-26', busyDayThreshold);
      expect(stderr).not.toMatch(/error/);
      expect(code).toBe(EXIT.ok);
      expect(v36.stats().faultsInjected['drift']).toBe(2);
      await expectLakeCutIn(out, 'Europe/Warsaw', '2026-10-24', '2026-10-26', (day) =>
        v36!.chats(day, 'Europe/Warsaw'),
      );
    },
  );
});

describe('v2 and v3.6 put the same chats into the same partitions', () => {
  it.each([
    ['Europe/Warsaw', 'America/Los_Angeles', '2026-03-28', '2026-03-30'],
    ['Europe/Warsaw', 'Asia/Tokyo', '2026-10-24', '2026-10-26'],
    ['America/Los_Angeles', 'Europe/Warsaw', '2026-11-01', '2026-11-02'],
  ])('archive zone %s, account zone %s, %s..%s', async (zone, accountZone, from, to) => {
    const options = { seed: 23, from: addDays(from, -1), to: addDays(to, 1), chatsPerDay: 30, timeZone: accountZone };
    v2 = await startSimulator(options);
    v36 = await startV36Simulator(options);
    const lakeV2 = await mkdtemp(join(tmpdir(), 'lake-tz-v2-'));
    const lakeV36 = await mkdtemp(join(tmpdir(), 'lake-tz-v36-'));
    const common = ['--from', from, '--to', to, '--time-zone', zone];
    const byV2 = await runArchiveCli([...common, '--out', lakeV2, '--api-url', v2.url], {
      LIVECHAT_LOGIN: v2.login,
      LIVECHAT_API_KEY: v2.apiKey,
    });
    const byV36 = await runArchiveCli(
      [...common, '--out', lakeV36, '--api-url', v36.url, '--source', 'v3.6'],
      { LIVECHAT_ACCOUNT_ID: v36.accountId, LIVECHAT_PAT: v36.token },
      { v36Overrides: { busyDayThreshold: 1 } },
    );
    expect([byV2.code, byV36.code]).toEqual([EXIT.ok, EXIT.ok]);
    const expected = (day: string) => v2!.chats(day, zone);
    const partitionsV2 = await expectLakeCutIn(lakeV2, zone, from, to, expected);
    const partitionsV36 = await expectLakeCutIn(lakeV36, zone, from, to, expected);
    expect(partitionsV36).toEqual(partitionsV2);
  });
});
