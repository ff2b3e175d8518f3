import { describe, expect, it } from 'vitest';
import { DT_PROJECTION_END, newestProjectedDay } from '#lake/athena-projection.ts';
import { localDay } from '#shared/time-zone.ts';

/**
 * Athena enumerates projected dates in UTC at query time, up to the range's end; `dt` is a day of
 * the lake's time zone. The end (DT_PROJECTION_END, the Glue tables' `projection.dt.range`) must
 * reach the lake's today in every zone, or east of UTC today's webhook partition stays invisible.
 */
describe('the dt projection ends where the lake’s newest day is, in every time zone', () => {
  it('holds today of every IANA zone, at every hour of two days across a year end', () => {
    const zones = Intl.supportedValuesOf('timeZone');
    expect(zones.length).toBeGreaterThan(300);
    for (let hour = 0; hour < 48; hour += 1) {
      const now = new Date(Date.UTC(2026, 11, 30, 12 + hour, 30));
      const newest = newestProjectedDay(now);
      const beyond = zones.filter((zone) => localDay(now, zone) > newest);
      expect(beyond, now.toISOString()).toEqual([]);
    }
  });

  it('needs the day past NOW: at 10:30 UTC on New Year’s Eve, Kiritimati (UTC+14) is in the new year', () => {
    const now = new Date('2026-12-31T10:30:00Z');
    expect(localDay(now, 'Pacific/Kiritimati')).toBe('2027-01-01');
    expect(localDay(now, 'Asia/Tokyo')).toBe('2026-12-31');
    // NOW alone ends at the UTC date, 2026-12-31.
    expect(DT_PROJECTION_END).toBe('NOW+1DAYS');
    expect(newestProjectedDay(now)).toBe('2027-01-01');
  });
});
