import { InvalidInputError } from './errors.ts';

/**
 * Calendar days and hours in an IANA time zone, with Intl only: Node 24 has no Temporal
 * without a flag, and the few operations needed here (the local day of an instant, the
 * instant a local day starts, the offset in effect) do not justify a date library.
 *
 * The archive's day D in zone Z is the half-open interval [start(D), start(D + 1)), where
 * start(D) is the first instant whose local date in Z is D. Days therefore tile the time line
 * with no gap and no overlap, and a DST day is 23 or 25 hours long.
 */

const DAY_MS = 86_400_000;
/** No zone is further than this from UTC (Pacific/Kiritimati is +14:00). */
const MAX_OFFSET_MS = 15 * 3_600_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/**
 * The canonical name of an IANA time zone (`europe/warsaw` → `Europe/Warsaw`), or undefined
 * when the runtime does not know it. Offsets such as `+01:00` are refused: LiveChat's
 * `timezone` parameter takes zone names ("TZ format"), and a fixed offset has no DST.
 */
export function canonicalTimeZone(name: string): string | undefined {
  // Every task and page asks again for the same few names: an Intl formatter per call showed in CPU profiles.
  if (canonicalNames.has(name)) return canonicalNames.get(name);
  let canonical: string | undefined;
  if (/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) {
    try {
      canonical = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    } catch {
      canonical = undefined;
    }
  }
  if (canonicalNames.size < 1_000) canonicalNames.set(name, canonical);
  return canonical;
}

const canonicalNames = new Map<string, string | undefined>();

/** An IANA time zone name this runtime knows, such as UTC or Europe/Warsaw. */
export function isTimeZone(name: string): boolean {
  return canonicalTimeZone(name) !== undefined;
}

/** The canonical zone name, or a one-line InvalidInputError naming `what` (a flag or key). */
export function timeZoneOrThrow(name: string, what = 'time zone'): string {
  const zone = canonicalTimeZone(name);
  if (!zone) {
    throw new InvalidInputError(
      `${what} must be an IANA time zone such as UTC, Europe/Warsaw or America/Los_Angeles, got "${name}"`,
    );
  }
  return zone;
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The local date and time of an instant in a zone. */
export function wallTimeAt(ms: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(ms)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Local time minus UTC at an instant, in seconds (+3600 for Europe/Warsaw in winter). */
export function offsetSecondsAt(ms: number, zone: string): number {
  const wall = wallTimeAt(ms, zone);
  const wallAsUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return Math.round((wallAsUtc - Math.floor(ms / 1000) * 1000) / 1000);
}

function dayOfWall(wall: WallTime): string {
  return `${String(wall.year).padStart(4, '0')}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
}

/** The calendar day of an instant in a time zone, as YYYY-MM-DD. */
export function localDay(instant: Date | number, zone: string): string {
  return dayOfWall(wallTimeAt(typeof instant === 'number' ? instant : instant.getTime(), zone));
}

const dayStarts = new Map<string, number>();

/**
 * The first instant (ms since the epoch, a whole second) whose local date in `zone` is `day`:
 * local midnight, or the end of the DST gap on a day whose midnight does not exist.
 */
export function startOfLocalDay(day: string, zone: string): number {
  const cacheKey = `${zone}|${day}`;
  const cached = dayStarts.get(cacheKey);
  if (cached !== undefined) return cached;
  const utcMidnight = Date.parse(`${day}T00:00:00Z`);
  // localDay(lo) < day <= localDay(hi); binary search on whole seconds.
  let lo = (utcMidnight - MAX_OFFSET_MS) / 1000;
  let hi = (utcMidnight + MAX_OFFSET_MS) / 1000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(mid * 1000, zone) < day) lo = mid;
    else hi = mid;
  }
  const start = hi * 1000;
  if (dayStarts.size > 10_000) dayStarts.clear();
  dayStarts.set(cacheKey, start);
  return start;
}

/** The instants a local day covers: [start, end). */
export function localDayBounds(day: string, zone: string): { start: number; end: number } {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
  return { start: startOfLocalDay(day, zone), end: startOfLocalDay(next, zone) };
}

/** Hours in a local day, rounded up: 24, or 23 / 25 on the days DST starts / ends. */
export function hoursInLocalDay(day: string, zone: string): number {
  const { start, end } = localDayBounds(day, zone);
  return Math.ceil((end - start) / 3_600_000);
}
