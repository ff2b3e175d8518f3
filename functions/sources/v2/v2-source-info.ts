import { CHATS_PREFIX } from '#lake/lake-layout.ts';
import type { SourceInfo } from '#sources/archive-source.ts';
import { v2FileRefs } from './attachment-refs.ts';

/** What the v2 source is, without its client (the planner needs no more). */
export const V2_SOURCE: SourceInfo = {
  name: 'v2',
  prefixes: [CHATS_PREFIX],
  recordPrefixes: [],
  tables: ['chats'],
  mergedTables: [{ prefix: CHATS_PREFIX, idOf: (row) => (typeof row['id'] === 'string' ? row['id'] : undefined) }],
  attachments: { prefix: CHATS_PREFIX, refsOf: v2FileRefs },
  checkFilters: () => {}, // the filters are GET /chats' own vocabulary
};
