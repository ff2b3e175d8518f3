import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDay } from '#shared/day-range.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { runNamedOnce } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import { loseChats } from '#test/support/lose-chats.ts';

// Recent days, so the query's default window (the last 30 days) covers them.
const today = localDay(new Date(), 'UTC');
const DAYS = [addDays(today, -3), addDays(today, -2), addDays(today, -1)];

const dayCompleteness = (lakeDir: string) => runNamedOnce(lakeDir, 'day_completeness');

describe('day_completeness on a lake the local CLI run wrote', () => {
  let sim: RunningSimulator;
  let out: string;

  beforeAll(async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60, seed: 7 });
    const run = await archiveLocally(sim, DAYS);
    expect(run.manifest.complete).toBe(true);
    out = run.out;
  });
  afterAll(async () => sim?.close());

  it('writes one day plan per day in the layout the Athena table reads', async () => {
    const plans = await readdir(join(out, 'manifests', 'day-plans'), { recursive: true });
    expect(plans.filter((file) => file.endsWith('.json')).sort()).toEqual(
      DAYS.map((day) => join(`dt=${day}`, 'run=test-run.plan-1.json')),
    );
  });

  it('reports every day complete after a clean run', async () => {
    const rows = await dayCompleteness(out);
    expect(rows).toEqual(
      DAYS.map((day) => ({
        dt: day,
        expected_chats: sim.chats(day).length,
        archived_chats: sim.chats(day).length,
        missing: 0,
        duplicates: 0,
        kept_chats: 0,
        status: 'complete',
        run_id: 'test-run',
        attempt: 1,
        planned_at: expect.any(String),
        filters: null,
      })),
    );
  });

  it('reports the day whose page file was deleted, and how many chats it lacks', async () => {
    const damaged = DAYS[1]!;
    const lost = loseChats(out, damaged, 25);
    expect(lost).toBe(25);

    const rows = await dayCompleteness(out);
    const byDay = new Map(rows.map((row) => [row.dt, row]));
    expect(byDay.get(damaged)).toMatchObject({
      expected_chats: 60,
      archived_chats: 60 - lost,
      missing: lost,
      status: 'missing',
    });
    for (const day of DAYS.filter((d) => d !== damaged)) expect(byDay.get(day)).toMatchObject({ status: 'complete' });
  });
});
