import { type Pass, passFileKey, passFilePrefix, SLICE_READS_PREFIX } from '#lake/lake-layout.ts';
import { hoursInLocalDay, localDayBounds, offsetSecondsAt, wallTimeAt } from '#shared/time-zone.ts';

/**
 * Lake keys of v3.6 slices. A day of the archive's time zone is archived as one slice (`day`)
 * or as one slice per local hour, named by hours since local midnight (`h00`..`h23`; `h22` is
 * the last on a 23-hour DST day, `h24` on a 25-hour one); each slice is written as numbered parts, one per list_archives page, in
 * cursor order (sort_order asc), under keys of its pass (lake-layout.ts):
 *
 *   chats/dt=2026-03-10/run=R.attempt-1.v36-day-part-00001.json.gz      ← the entries mapped onto `chats` columns
 *   archives/dt=2026-03-10/run=R.attempt-1.v36-day-part-00001.json.gz   ← the same entries, raw (`chat_threads`)
 *   chats/dt=2026-03-10/run=R.attempt-1.v36-h07-part-00003.json.gz
 *
 * Keys depend only on pass, day, slice and part number, so a redelivered slice overwrites its
 * own files and no pass touches another's; settling the day merges the partition into one row
 * per thread. The files sit in the same `chats/dt=` partitions as v2 pages, so the Glue table
 * and the DuckDB view read them unchanged.
 */
export type SliceId = 'day' | `h${string}`;

const HOUR_MS = 3_600_000;

/** The slices of a local day: the whole day, or one per local hour (23, 24 or 25 of them). */
export function sliceIds(hourly: boolean, day: string, timeZone: string): SliceId[] {
  if (!hourly) return ['day'];
  return Array.from({ length: hoursInLocalDay(day, timeZone) }, (_, hour) => `h${pad2(hour)}` as SliceId);
}

/** A part's key in `chats/` (mapped rows) or, given ARCHIVES_PREFIX, in `archives/` (the raw entries). */
export function slicePartKey(day: string, pass: Pass, slice: SliceId, part: number, table?: string): string {
  return passFileKey(day, pass, `v36-${slice}-part-${String(part).padStart(5, '0')}`, table);
}

/**
 * What one part of a slice held (thread ids, counts), written with the part: the task that
 * reads the slice's last page checks and counts the whole slice from these, however many tasks
 * read it. `manifests/slice-reads/dt=…/run=….attempt-N.<plan>.v36-h07-part-00003.json`.
 */
export function slicePartRecordKey(day: string, pass: Pass, slice: SliceId, part: number): string {
  const name = `v36-${slice}-part-${String(part).padStart(5, '0')}`;
  return `${SLICE_READS_PREFIX}dt=${day}/${passFilePrefix(pass)}${name}.json`;
}

/**
 * `filters.from`/`filters.to` of a slice: RFC 3339 with microseconds and the offset in effect at
 * each end in `timeZone`. `from` is the slice's first microsecond and `to` its last, so both
 * ends are inside the slice and consecutive slices (and days) are 1 µs apart: no chat falls
 * between two slices or into both. Hour slices step in elapsed hours from local midnight, so
 * the hour a DST change skips or repeats is neither lost nor counted twice.
 */
export function sliceRange(day: string, slice: SliceId, timeZone: string): { from: string; to: string } {
  const bounds = localDayBounds(day, timeZone);
  const start = slice === 'day' ? bounds.start : bounds.start + Number(slice.slice(1)) * HOUR_MS;
  const end = slice === 'day' ? bounds.end : Math.min(start + HOUR_MS, bounds.end);
  return { from: rfc3339Micro(start, timeZone, '000000'), to: rfc3339Micro(end - 1000, timeZone, '999999') };
}

/** e.g. `2026-03-29T03:00:00.000000+02:00`; `Z` when the offset is zero. */
function rfc3339Micro(ms: number, timeZone: string, micros: string): string {
  let offset = offsetSecondsAt(ms, timeZone);
  // RFC 3339 offsets are whole minutes; only pre-1900s local mean times are not: write those in UTC.
  const wall = wallTimeAt(ms, offset % 60 === 0 ? timeZone : 'UTC');
  if (offset % 60 !== 0) offset = 0;
  const date = `${String(wall.year).padStart(4, '0')}-${pad2(wall.month)}-${pad2(wall.day)}`;
  const time = `${pad2(wall.hour)}:${pad2(wall.minute)}:${pad2(wall.second)}.${micros}`;
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.abs(offset) / 60;
  return `${date}T${time}${offset === 0 ? 'Z' : `${sign}${pad2(Math.floor(minutes / 60))}:${pad2(minutes % 60)}`}`;
}

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}
