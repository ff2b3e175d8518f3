/**
 * Numbers as a support lead reads them: durations as `1m 47s` / `2h 05m`, shares as percentages,
 * changes against the previous period with their sign, days and times in the lake's zone. The
 * tables keep the exact value beside the text (`data-value`), so tests compare it with DuckDB.
 */
import { wallTimeAt } from '#shared/time-zone.ts';

const MINUS = '−';

export const formatCount = (n: number) => n.toLocaleString('en-US');

/** `45s`, `1m 47s`, `2h 05m`; whole seconds (percentiles are interpolated, the exact value stays in data-value). */
export function formatDuration(seconds: number): string {
  const total = Math.round(Math.abs(seconds));
  const sign = seconds < 0 && total > 0 ? MINUS : '';
  if (total < 60) return `${sign}${total}s`;
  if (total < 3600) return `${sign}${Math.floor(total / 60)}m ${String(total % 60).padStart(2, '0')}s`;
  const minutes = Math.round(total / 60);
  return `${sign}${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** A share in percent (0–100) with one decimal: `12.3%`. */
export const formatPercent = (percent: number) => `${percent.toFixed(1)}%`;

/** part / whole in percent, null when there is no whole. */
export const share = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : null);

const signed = (n: number, text: string) => (n > 0 ? `+${text}` : n < 0 ? `${MINUS}${text}` : text);

/** A change of a count: `+12 (+8.5%)`; the relative part only when there was something before. */
export function formatCountChange(current: number, previous: number): string {
  const delta = current - previous;
  const relative = previous > 0 ? ` (${signed(delta, `${Math.abs((100 * delta) / previous).toFixed(1)}%`)})` : '';
  return `${signed(delta, formatCount(Math.abs(delta)))}${relative}`;
}

/** A change of a share, in percentage points: `+1.2 pp`. */
export const formatPointsChange = (delta: number) => signed(delta, `${Math.abs(delta).toFixed(1)} pp`);

/** A change of a duration: `−8s`, `+1m 02s`. */
export const formatDurationChange = (delta: number) => signed(Math.round(delta), formatDuration(Math.abs(delta)));

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A partition day (already a day of the lake's zone): `Mon 23 Nov 2026`. */
export function formatDay(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  return `${WEEKDAYS[date.getUTCDay()]} ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** A range of days: `Mon 16 Nov – Sun 22 Nov 2026` (the year once when both share it). */
export function formatRange(from: string, to: string): string {
  const start = formatDay(from);
  const end = formatDay(to);
  return from.slice(0, 4) === to.slice(0, 4) ? `${start.slice(0, -5)} – ${end}` : `${start} – ${end}`;
}

/** An instant (ISO-8601 UTC) as the wall clock of the lake's zone: `2026-11-25 18:38`. */
export function formatInstant(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const wall = wallTimeAt(ms, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)}`;
}
