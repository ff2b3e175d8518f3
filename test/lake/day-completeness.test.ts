import { rmSync, utimesSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { addDays, localDay } from '#shared/day-range.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { runNamedOnce } from '#test/support/lake-reader.ts';
import { archiveLocally, useArchivedLake } from '#test/support/local-archive.ts';
import { loseChats } from '#test/support/lose-chats.ts';

// Recent days, so the query's default window (the last 30 days) covers them.
const today = localDay(new Date(), 'UTC');
const DAYS = [addDays(today, -3), addDays(today, -2), addDays(today, -1)];

const dayCompleteness = (lakeDir: string) => runNamedOnce(lakeDir, 'day_completeness');

/** What a night that never ran leaves: no chat file and no day plan for the day. */
function neverArchived(lakeDir: string, day: string): void {
  rmSync(join(lakeDir, 'chats', `dt=${day}`), { recursive: true });
  rmSync(join(lakeDir, 'manifests', 'day-plans', `dt=${day}`), { recursive: true });
}

const notArchived = (day: string) => ({
  dt: day,
  expected_chats: null,
  archived_chats: 0,
  missing: null,
  duplicates: 0,
  kept_chats: 0,
  status: 'not_archived',
  run_id: null,
  attempt: null,
  planned_at: null,
  filters: null,
});

describe('day_completeness on a lake the local CLI run wrote', () => {
  const archived = useArchivedLake(DAYS, { chatsPerDay: () => 60, seed: 7 });

  it('writes one day plan per day in the layout the Athena table reads', async () => {
    const plans = await readdir(join(archived.out, 'manifests', 'day-plans'), { recursive: true });
    expect(plans.filter((file) => file.endsWith('.json')).sort()).toEqual(
      DAYS.map((day) => join(`dt=${day}`, 'run=test-run.plan-1.json')),
    );
  });

  it('reports every day complete after a clean run', async () => {
    const rows = await dayCompleteness(archived.out);
    expect(rows).toEqual(
      DAYS.map((day) => ({
        dt: day,
        expected_chats: archived.sim.chats(day).length,
        archived_chats: archived.sim.chats(day).length,
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

  it('lists a day with neither plan nor chats (a night that never ran) as not_archived, between archived days and as the last night', async () => {
    const middle = await copyLake(archived.out);
    neverArchived(middle, DAYS[1]!);
    const rows = await dayCompleteness(middle);
    expect(rows.map((row) => [row['dt'], row['status']])).toEqual([
      [DAYS[0], 'complete'],
      [DAYS[1], 'not_archived'],
      [DAYS[2], 'complete'],
    ]);
    expect(rows[1]).toEqual(notArchived(DAYS[1]!));

    // Yesterday is the last day of the default window: a failed last night shows too.
    const lastNight = await copyLake(archived.out);
    neverArchived(lastNight, DAYS[2]!);
    expect((await dayCompleteness(lastNight)).map((row) => [row['dt'], row['status']])).toEqual([
      [DAYS[0], 'complete'],
      [DAYS[1], 'complete'],
      [DAYS[2], 'not_archived'],
    ]);
  });

  it('reads a day npm run prune emptied as expired (not missing), until the day is archived again', async () => {
    const lake = await copyLake(archived.out);
    const old = new Date(Date.now() - 10 * 86_400_000);
    const partition = join(lake, 'chats', `dt=${DAYS[0]}`);
    for (const file of await readdir(partition)) utimesSync(join(partition, file), old, old);
    const pruned = await pruneLocalLake({ dir: lake, olderThanDays: 5 });
    expect(pruned.files.length).toBeGreaterThan(0);

    const rows = await dayCompleteness(lake);
    expect(rows[0]).toMatchObject({
      dt: DAYS[0],
      expected_chats: 60,
      archived_chats: 0,
      missing: 0,
      status: 'expired',
    });
    expect(rows.slice(1).map((row) => row['status'])).toEqual(['complete', 'complete']);

    // Archived again after the prune: the newer plan is what the day is judged by.
    await archiveLocally(archived.sim, [DAYS[0]!], { sink: () => new LocalFileSink(lake) });
    expect((await dayCompleteness(lake)).map((row) => row['status'])).toEqual(['complete', 'complete', 'complete']);
  });

  it("reads a short day older than the deployment's retentionDays as expired (the S3 lifecycle rule records nothing)", async () => {
    const lake = await copyLake(archived.out);
    loseChats(lake, DAYS[0]!, 10);
    loseChats(lake, DAYS[1]!, 10);
    const query = NAMED_QUERIES.find((q) => q.name === 'day_completeness')!;
    const local = await openLocalLake(lake);
    try {
      // Retention of 2 days: DAYS[0] (3 days ago) is past it, DAYS[1] (2 days ago) is not.
      const withRetention = await local.query(query.render(DUCKDB, undefined, { retentionDays: 2 }));
      expect(withRetention.map((row) => [row['dt'], row['status'], row['missing']])).toEqual([
        [DAYS[0], 'expired', 0],
        [DAYS[1], 'missing', 10],
        [DAYS[2], 'complete', 0],
      ]);
      const forever = await local.query(query.render(DUCKDB));
      expect(forever.map((row) => row['status'])).toEqual(['missing', 'missing', 'complete']);
    } finally {
      await local.close();
    }
  });

  it('reports the day whose page file was deleted, and how many chats it lacks', async () => {
    const damaged = DAYS[1]!;
    const lost = loseChats(archived.out, damaged, 25);
    expect(lost).toBe(25);

    const rows = await dayCompleteness(archived.out);
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
