import { describe, expect, it } from 'vitest';
import { parseRunRequest, planRun } from '#pipeline/run-planner.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { localDay } from '#shared/time-zone.ts';

const settings = {
  timeZone: 'UTC',
  settleHours: 2,
  lookbackDays: 3,
  maxRangeDays: 1200,
  defaultFilters: {},
  fallbackRunId: 'manual-req-1',
};

describe('run planner', () => {
  it('refuses days before projectionStart, naming the setting, and plans from it on', () => {
    const backfill = parseRunRequest({ from: '2019-12-30', to: '2020-01-02' });
    expect(() => planRun(backfill, settings)).toThrow(InvalidInputError);
    expect(() => planRun(backfill, settings)).toThrow(
      /2019-12-30 is before projectionStart \(2020-01-01\): Athena never shows days before it.*projectionStart in cdk\.json.*nothing was queued/,
    );
    expect(() => planRun(backfill, { ...settings, projectionStart: '2019-12-01' })).not.toThrow();
    expect(planRun(parseRunRequest({ from: '2020-01-01', to: '2020-01-02' }), settings).days).toEqual([
      '2020-01-01',
      '2020-01-02',
    ]);
  });

  it('plans the last settled day plus the lookback for a scheduled run, with a run id from the scheduled time', () => {
    const plan = planRun(parseRunRequest({ scheduledTime: '2026-11-25T02:30:00Z' }), settings);
    expect(plan.days).toEqual(['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24']);
    expect(plan.runId).toBe('scheduled-20261125T023000Z');
    expect(plan.dayTasks[0]).toEqual({
      v: 1,
      kind: 'day',
      runId: plan.runId,
      day: '2026-11-21',
      attempt: 1,
      filters: {},
      timeZone: 'UTC',
    });
  });

  it('waits for the settle lag: just after midnight the previous day is not yet the last one', () => {
    const plan = planRun(parseRunRequest({ scheduledTime: '2026-11-25T01:00:00Z' }), { ...settings, lookbackDays: 0 });
    expect(plan.days).toEqual(['2026-11-23']);
  });

  it('uses the configured time zone for "yesterday"', () => {
    // 03:30 UTC on the 25th is still the 24th, 19:30, in Los Angeles.
    const plan = planRun(parseRunRequest({ scheduledTime: '2026-11-25T03:30:00Z' }), {
      ...settings,
      timeZone: 'America/Los_Angeles',
      lookbackDays: 0,
    });
    expect(plan.days).toEqual(['2026-11-23']);
    expect(localDay(new Date('2026-11-25T03:30:00Z'), 'Asia/Tokyo')).toBe('2026-11-25');
  });

  it('plans a backfill by hand with its filters and a run id from the invocation', () => {
    const plan = planRun(
      parseRunRequest({ from: '2024-01-01', to: '2026-12-31', filters: { type: 'chat' } }),
      settings,
    );
    expect(plan.days).toHaveLength(1096);
    expect(plan.runId).toBe('manual-req-1');
    expect(plan.dayTasks.every((task) => task.filters.type === 'chat')).toBe(true);
  });

  it.each([
    [{}, /planner input must be/],
    [{ from: '2026-01-01', colour: 'red' }, /planner input must be/],
    [{ scheduledTime: 'yesterday' }, /planner input must be/],
  ])('rejects %j with one clear line', (event, message) => {
    expect(() => parseRunRequest(event)).toThrow(InvalidInputError);
    expect(() => parseRunRequest(event)).toThrow(message);
  });

  it.each([
    [{ from: '2026-13-01' }, /^from must be a date/],
    [{ from: '2026-02-01', to: '2026-01-01' }, /is after/],
    [{ from: '2020-01-01', to: '2026-01-01' }, /more than the maximum of 1200/],
  ])('rejects an impossible range %j', (event, message) => {
    expect(() => planRun(parseRunRequest(event), settings)).toThrow(message);
  });
});
