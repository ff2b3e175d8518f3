import { pageNumberOf, partitionPrefix } from './lake-layout.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

/**
 * Deletes page files of a day numbered above `pages`: left from an earlier archive
 * of the day when it had more pages, they would otherwise hold stale copies.
 */
export async function removePagesBeyond(sink: LakeSink, day: string, pages: number): Promise<string[]> {
  const stale = (await sink.list(partitionPrefix(day))).filter((key) => {
    const page = pageNumberOf(key);
    return page !== undefined && page > pages;
  });
  if (stale.length) await sink.delete(stale);
  return stale;
}
