import { pageNumberOf, partitionPrefix } from './lake-layout.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

/**
 * Deletes the chat files of a day that a v2 plan of `pages` pages does not own: pages
 * numbered above `pages` (left from an archive of the day when it had more pages) and
 * files of another source (v3.6 slice parts). Either would hold second copies of chats.
 */
export async function removePagesBeyond(sink: LakeSink, day: string, pages: number): Promise<string[]> {
  const stale = (await sink.list(partitionPrefix(day))).filter((key) => {
    if (!key.endsWith('.json.gz')) return false;
    const page = pageNumberOf(key);
    return page === undefined || page > pages;
  });
  if (stale.length) await sink.delete(stale);
  return stale;
}
