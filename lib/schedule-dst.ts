import { offsetSecondsAt } from '#shared/time-zone.ts';

const HOUR_MS = 3_600_000;
/** Two years ahead: every yearly DST change of the zone, and a rule change announced for next year. */
const HORIZON_MS = 2 * 366 * 24 * HOUR_MS;

/** The whole numbers a cron field lists (`30`, `0,30`, `1-3`), or undefined for `*`, steps and names. */
function listedNumbers(field: string): number[] | undefined {
  const numbers: number[] = [];
  for (const part of field.split(',')) {
    const range = /^(\d{1,2})(?:-(\d{1,2}))?$/.exec(part);
    if (!range) return undefined;
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    for (let value = from; value <= to; value++) numbers.push(value);
  }
  return numbers;
}

/** The instant (ms) the offset changes within (lo, hi], found to the second. */
function changeWithin(lo: number, hi: number, zone: string): number {
  const before = offsetSecondsAt(lo, zone);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetSecondsAt(mid, zone) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * The first local time of `cron` (an EventBridge Scheduler expression) that `zone` skips when its
 * clocks go forward, within two years of `from`. EventBridge Scheduler does not run a schedule
 * whose time does not exist that night (it runs a repeated time once), so such a night archives
 * nothing. Expressions whose minute or hour is not a plain list (`*`, `0/15`) are not checked:
 * they fire often enough that one skipped firing loses no day.
 */
export function skippedScheduleTime(
  cron: string,
  zone: string,
  from = Date.now(),
): { time: string; day: string } | undefined {
  const fields = /^cron\((.*)\)$/.exec(cron)?.[1]?.split(' ');
  const minutes = fields && listedNumbers(fields[0]!);
  const hours = fields && listedNumbers(fields[1]!);
  if (!minutes || !hours) return undefined;
  const start = Math.floor(from / HOUR_MS) * HOUR_MS;
  let after = offsetSecondsAt(start, zone);
  for (let hour = start; hour < start + HORIZON_MS; hour += HOUR_MS) {
    const before = after;
    after = offsetSecondsAt(hour + HOUR_MS, zone);
    if (after <= before) continue;
    const change = changeWithin(hour, hour + HOUR_MS, zone);
    // Wall-clock times in [change + before, change + after) do not exist that day.
    const gapStart = change + before * 1000;
    const gapEnd = change + after * 1000;
    const day = new Date(gapStart).toISOString().slice(0, 10);
    for (const h of hours) {
      for (const m of minutes) {
        const wall = Date.parse(`${day}T${pad(h)}:${pad(m)}:00Z`);
        if (wall >= gapStart && wall < gapEnd) return { time: `${pad(h)}:${pad(m)}`, day };
      }
    }
  }
  return undefined;
}
