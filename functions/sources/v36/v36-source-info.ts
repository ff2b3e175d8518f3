import { ARCHIVES_PREFIX, CHATS_PREFIX } from '#lake/lake-layout.ts';
import type { SourceInfo } from '#sources/archive-source.ts';
import { assertArchiveFilters } from './v36-filters.ts';

/** What the v3.6 source is, without its client (the planner needs no more). */
export const V36_SOURCE: SourceInfo = {
  name: 'v3.6',
  // Each entry mapped onto `chats`, and raw in `chat_threads` (functions/lake/thread-columns.ts).
  prefixes: [CHATS_PREFIX, ARCHIVES_PREFIX],
  tables: ['chats', 'chat_threads'],
  checkFilters: assertArchiveFilters,
};
