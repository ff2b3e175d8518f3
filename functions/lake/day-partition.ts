import { pageNumberOf, partitionPrefix } from './lake-layout.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

/** Deletes the files of a day's partition (of `chats/`, or of the table prefix given) that `isStale` picks; returns their keys. */
export async function removeFromPartition(
  sink: LakeSink,
  day: string,
  isStale: (key: string) => boolean,
  table?: string,
): Promise<string[]> {
  const stale = (await sink.list(partitionPrefix(day, table))).filter(isStale);
  if (stale.length) await sink.delete(stale);
  return stale;
}

/**
 * Deletes the chat files of a day that a v2 plan of `pages` pages does not own: pages
 * numbered above `pages` (left from an archive of the day when it had more pages) and
 * files of another source (v3.6 slice parts). Either would hold second copies of chats.
 */
export function removePagesBeyond(sink: LakeSink, day: string, pages: number): Promise<string[]> {
  return removeFromPartition(sink, day, (key) => {
    if (!key.endsWith('.json.gz')) return false;
    const page = pageNumberOf(key);
    return page === undefined || page > pages;
  });
}
