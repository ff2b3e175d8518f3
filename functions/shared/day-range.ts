import { InvalidInputError } from './errors.ts';

export { isTimeZone, localDay } from './time-zone.ts';

const DAY_MS = 86_400_000;

/** A YYYY-MM-DD string naming a real calendar day (not 2026-02-30). */
export function isRealDay(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

/** Every day from `from` to `to`, inclusive, as YYYY-MM-DD. */
export function daysInRange(
  from: string,
  to: string,
  maxDays = Number.POSITIVE_INFINITY,
  names: { from: string; to: string } = { from: 'from', to: 'to' },
): string[] {
  for (const [name, day] of [
    [names.from, from],
    [names.to, to],
  ] as const) {
    if (!isRealDay(day)) {
      throw new InvalidInputError(`${name} must be a date as YYYY-MM-DD, got "${day}"`);
    }
  }
  const start = Date.parse(`${from}T00:00:00Z`);
  const end = Date.parse(`${to}T00:00:00Z`);
  if (start > end) throw new InvalidInputError(`${names.from} ${from} is after ${names.to} ${to}`);
  const count = (end - start) / DAY_MS + 1;
  if (count > maxDays) throw new InvalidInputError(`the range has ${count} days, more than the maximum of ${maxDays}`);
  return Array.from({ length: count }, (_, index) => new Date(start + index * DAY_MS).toISOString().slice(0, 10));
}

export function addDays(day: string, delta: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + delta * DAY_MS).toISOString().slice(0, 10);
}
