/**
 * The `day_plans` table: what each day task planned (`manifests/day-plans/dt=…/run=….plan-N.json`),
 * one source of truth for the Glue table and the local DuckDB view, like chat-columns.ts is for
 * `chats`. Glue column names are lower case (the Hive JSON SerDe matches JSON keys to columns
 * case-insensitively), so `runId` in the file is `runid` in SQL. Keys a plan carries beyond
 * these columns (the source's own: v2 `pages`, v3.6 `found`, `slices`) are ignored by the table.
 */
import { DAY_PLANS_PREFIX } from './lake-layout.ts';

export const DAY_PLANS_TABLE = 'day_plans';
export { DAY_PLANS_PREFIX };

export interface DayPlanColumn {
  /** Column name in Glue and DuckDB. */
  readonly name: string;
  /** Key in the JSON file. */
  readonly key: string;
  readonly glueType: 'string' | 'int';
  readonly duckdbType: 'VARCHAR' | 'INTEGER';
  readonly comment: string;
}

/** A manifest column named after its JSON key, lower-cased for Glue; dropped_chats builds its columns with it too. */
export const manifestColumn = (key: string, type: 'string' | 'int', comment: string): DayPlanColumn => ({
  name: key.toLowerCase(),
  key,
  glueType: type,
  duckdbType: type === 'int' ? 'INTEGER' : 'VARCHAR',
  comment,
});

export const DAY_PLAN_COLUMNS: readonly DayPlanColumn[] = [
  manifestColumn('runId', 'string', 'Archive run that planned the day'),
  manifestColumn('day', 'string', 'Chat day planned (the same as dt)'),
  manifestColumn('timeZone', 'string', 'IANA time zone the day is cut in: dt is the day a chat started there'),
  manifestColumn(
    'filters',
    'string',
    "The run's chat filters, e.g. type=missed_chat (the lake's, manifests/filters/); NULL when unfiltered",
  ),
  manifestColumn('attempt', 'int', 'Pass over the day within its run: 1, then +1 per re-archive after drift'),
  manifestColumn('source', 'string', "LiveChat API read: 'v2' or 'v3.6'"),
  manifestColumn('total', 'int', 'Chats the API reported for the day when it was planned (v3.6: found_chats)'),
  manifestColumn('units', 'int', 'Pages (v2) or time slices (v3.6) planned'),
  manifestColumn(
    'kept',
    'int',
    'Once the pass settled: chats the day keeps that the pass did not return (LiveChat no longer lists them, or only without a transcript); NULL before',
  ),
  manifestColumn('chats', 'int', 'Once the pass settled: chats the day holds, one version each; NULL before'),
  manifestColumn(
    'files',
    'int',
    "Once the pass settled: files (attachments) the day's chats point to, one per chat and URL (table chat_files has a row for each once its files task ran); NULL before",
  ),
  manifestColumn(
    'plannedAt',
    'string',
    'ISO-8601 UTC time the day was planned; the latest plan of a day is the one the lake should match',
  ),
];

/** The partition key, the same as the chats table's. */
export const DAY_PLAN_PARTITION = {
  name: 'dt',
  glueType: 'string',
  duckdbType: 'VARCHAR',
  comment: 'Partition: chat day yyyy-MM-dd',
} as const;
