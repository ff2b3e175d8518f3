import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '#shared/errors.ts';
import {
  canonicalTimeZone,
  hoursInLocalDay,
  localDay,
  localDayBounds,
  offsetSecondsAt,
  startOfLocalDay,
  timeZoneOrThrow,
} from '#shared/time-zone.ts';

const iso = (ms: number) => new Date(ms).toISOString();

describe('time zones', () => {
  it('accepts IANA names in any case and returns their canonical spelling', () => {
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('europe/warsaw')).toBe('Europe/Warsaw');
    expect(canonicalTimeZone('America/Los_Angeles')).toBe('America/Los_Angeles');
  });

  it.each(['Mars/Olympus', '+01:00', 'UTC+1', '', 'Europe/', '../etc'])('refuses %j', (zone) => {
    expect(canonicalTimeZone(zone)).toBeUndefined();
    expect(() => timeZoneOrThrow(zone, '--time-zone')).toThrowError(InvalidInputError);
    expect(() => timeZoneOrThrow(zone, '--time-zone')).toThrowError(/^--time-zone must be an IANA time zone/);
  });

  it('cuts a day at local midnight east of UTC (Asia/Tokyo, +09:00) and west of it (America/Los_Angeles)', () => {
    expect(iso(startOfLocalDay('2026-07-01', 'Asia/Tokyo'))).toBe('2026-06-30T15:00:00.000Z');
    expect(iso(startOfLocalDay('2026-07-01', 'America/Los_Angeles'))).toBe('2026-07-01T07:00:00.000Z');
    expect(iso(startOfLocalDay('2026-01-15', 'America/Los_Angeles'))).toBe('2026-01-15T08:00:00.000Z');
    expect(localDay(Date.parse('2026-06-30T15:00:00Z'), 'Asia/Tokyo')).toBe('2026-07-01');
    expect(localDay(Date.parse('2026-06-30T14:59:59Z'), 'Asia/Tokyo')).toBe('2026-06-30');
    expect(localDay(Date.parse('2026-07-01T06:59:59Z'), 'America/Los_Angeles')).toBe('2026-06-30');
  });

  it('gives Europe/Warsaw a 23-hour day when DST starts and a 25-hour day when it ends', () => {
    expect(localDayBounds('2026-03-29', 'Europe/Warsaw')).toEqual({
      start: Date.parse('2026-03-28T23:00:00Z'),
      end: Date.parse('2026-03-29T22:00:00Z'),
    });
    expect(localDayBounds('2026-10-25', 'Europe/Warsaw')).toEqual({
      start: Date.parse('2026-10-24T22:00:00Z'),
      end: Date.parse('2026-10-25T23:00:00Z'),
    });
    expect(hoursInLocalDay('2026-03-28', 'Europe/Warsaw')).toBe(24);
    expect(hoursInLocalDay('2026-03-29', 'Europe/Warsaw')).toBe(23);
    expect(hoursInLocalDay('2026-10-25', 'Europe/Warsaw')).toBe(25);
    expect(hoursInLocalDay('2026-10-25', 'UTC')).toBe(24);
    expect(offsetSecondsAt(Date.parse('2026-03-29T00:59:59Z'), 'Europe/Warsaw')).toBe(3600);
    expect(offsetSecondsAt(Date.parse('2026-03-29T01:00:00Z'), 'Europe/Warsaw')).toBe(7200);
  });

  it('starts a day whose midnight does not exist at the end of the DST gap (America/Santiago)', () => {
    // Chile springs forward at 24:00 on 2026-09-05: 2026-09-06 begins at 01:00 local (-03:00).
    expect(iso(startOfLocalDay('2026-09-06', 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    expect(hoursInLocalDay('2026-09-06', 'America/Santiago')).toBe(23);
  });

  it('tiles a year of Warsaw days with no gap and no overlap', () => {
    let day = '2026-01-01';
    let hours = 0;
    for (let index = 0; index < 365; index += 1) {
      const { start, end } = localDayBounds(day, 'Europe/Warsaw');
      expect(localDay(start, 'Europe/Warsaw')).toBe(day);
      expect(localDay(start - 1, 'Europe/Warsaw')).not.toBe(day);
      expect(localDay(end - 1, 'Europe/Warsaw')).toBe(day);
      hours += (end - start) / 3_600_000;
      day = localDay(end, 'Europe/Warsaw');
    }
    expect(day).toBe('2027-01-01');
    expect(hours).toBe(365 * 24);
  });
});
