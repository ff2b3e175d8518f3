import { ARCHIVES_PREFIX, CHATS_PREFIX, SLICE_READS_PREFIX } from '#lake/lake-layout.ts';
import type { SourceInfo } from '#sources/archive-source.ts';
import { v36FileRefs } from './file-refs.ts';
import { assertArchiveFilters } from './v36-filters.ts';

const threadOf = (row: Record<string, unknown>): Record<string, unknown> | undefined =>
  row['thread'] && typeof row['thread'] === 'object' ? (row['thread'] as Record<string, unknown>) : undefined;

/** What the v3.6 source is, without its client (the planner needs no more). */
export const V36_SOURCE: SourceInfo = {
  name: 'v3.6',
  // Each entry mapped onto `chats`, and raw in `chat_threads` (functions/lake/thread-columns.ts).
  prefixes: [CHATS_PREFIX, ARCHIVES_PREFIX],
  // What each part of a slice held, for the task that reads the slice's last page (slice-layout.ts).
  recordPrefixes: [SLICE_READS_PREFIX],
  tables: ['chats', 'chat_threads'],
  // One row per thread in both tables (a `chats` row's id is its thread id, archive-mapping.ts); the
  // raw entry decides: a thread listed past the plan's retention (`restricted_access`, no `events`,
  // Agent Chat API data structures, Thread) never replaces the archived transcript.
  mergedTables: [
    {
      prefix: ARCHIVES_PREFIX,
      idOf: (row) => {
        const id = threadOf(row)?.['id'];
        return typeof id === 'string' ? id : undefined;
      },
      isStub: (row) => {
        const thread = threadOf(row);
        const events = thread?.['events'];
        return typeof thread?.['restricted_access'] === 'string' && !(Array.isArray(events) && events.length > 0);
      },
    },
    { prefix: CHATS_PREFIX, idOf: (row) => (typeof row['id'] === 'string' ? row['id'] : undefined) },
  ],
  attachments: { prefix: ARCHIVES_PREFIX, refsOf: v36FileRefs },
  checkFilters: assertArchiveFilters,
};
