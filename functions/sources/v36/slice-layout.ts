import { partitionPrefix } from '#lake/lake-layout.ts';

/**
 * Lake keys of v3.6 slices. A day is archived as one slice (`day`) or as 24 hour slices
 * (`h00`..`h23`); each slice is written as numbered parts, one per list_archives page, in
 * cursor order (sort_order asc):
 *
 *   chats/dt=2026-03-10/v36-day-part-00001.json.gz
 *   chats/dt=2026-03-10/v36-h07-part-00003.json.gz
 *
 * Keys depend only on day, slice and part number, so a redelivered slice overwrites its own
 * files; parts beyond what a slice wrote this time, and files of slices the day's current plan
 * does not have (another slicing, or v2 `page-*` files), are deleted, so the partition holds
 * each chat once. The files sit in the same `chats/dt=` partitions as v2 pages, so the Glue
 * table and the DuckDB view read them unchanged.
 */
export type SliceId = 'day' | `h${string}`;

const SLICE_PART = /^v36-(day|h(?:[01]\d|2[0-3]))-part-(\d{5,})\.json\.gz$/;

export function sliceIds(hourly: boolean): SliceId[] {
  return hourly ? Array.from({ length: 24 }, (_, hour) => `h${String(hour).padStart(2, '0')}` as SliceId) : ['day'];
}

export function slicePartKey(day: string, slice: SliceId, part: number): string {
  return `${partitionPrefix(day)}v36-${slice}-part-${String(part).padStart(5, '0')}.json.gz`;
}

/** The slice and part of a v3.6 part key, or undefined for any other key. */
export function slicePartOf(key: string): { slice: SliceId; part: number } | undefined {
  const match = SLICE_PART.exec(key.slice(key.lastIndexOf('/') + 1));
  return match ? { slice: match[1] as SliceId, part: Number(match[2]) } : undefined;
}

/** `filters.from`/`filters.to` of a slice: RFC 3339 with microseconds, UTC, both ends inside the slice. */
export function sliceRange(day: string, slice: SliceId): { from: string; to: string } {
  if (slice === 'day') return { from: `${day}T00:00:00.000000Z`, to: `${day}T23:59:59.999999Z` };
  const hour = slice.slice(1);
  return { from: `${day}T${hour}:00:00.000000Z`, to: `${day}T${hour}:59:59.999999Z` };
}
