/**
 * What a compacted (Parquet) day file holds beside the table's columns, for every reader and
 * writer of it (DuckDB here, the Glue tables and Athena UNLOADs on AWS). No DuckDB import: the
 * CDK code and the compactor Lambda read it too.
 */
import { CHAT_SCHEMA, INT, type LakeColumn, type LakeField, STRING } from './chat-columns.ts';
import { CHAT_FILE_COLUMNS } from './chat-files-table.ts';
import { ARCHIVES_PREFIX, CHAT_FILES_PREFIX, CHATS_PREFIX } from './lake-layout.ts';
import { THREAD_SCHEMA } from './thread-columns.ts';

/** The column holding each row's stored JSON line, verbatim. */
export const RAW_JSON_COLUMN = '_raw_json';

/**
 * The day of each row of a compacted month file (`compacted/chats/month=…/`): the `dt` a day file
 * has as its partition is a column there, the last one.
 */
export const MONTH_FILE_DAY_COLUMN = 'dt';

/**
 * The last column of the views `chats` and `chat_threads` (Athena and DuckDB): the month of the
 * row's day, `yyyy-MM`, always `substr(dt, 1, 7)`. For the compacted month files it is their
 * partition (`month=yyyy-MM/`), so a filter on it skips month files by name (Athena's partition
 * projection, DuckDB's hive file filter), which a filter on `dt` (a column inside those files)
 * cannot; the named queries filter on both (docs/compaction.md).
 */
export const MONTH_COLUMN: LakeColumn = {
  name: 'month',
  glueType: 'string',
  duckdbType: 'VARCHAR',
  comment:
    "The month of the chat day dt (yyyy-MM): filter on it beside dt (month BETWEEN 'yyyy-MM' AND 'yyyy-MM') so compacted month files outside the days are not opened",
};

/** The `month` of a day: `yyyy-MM` of `yyyy-MM-dd`. */
export const monthOf = (day: string): string => day.slice(0, 7);

/**
 * A day with at most this many chats is compacted into its month's file (one object a month and
 * table), a busier day into a file of its own: a month file stays small enough to rewrite whole
 * each night a day of it is compacted (a month of such days is at most ~31 000 chats).
 */
export const SMALL_DAY_CHATS = 1_000;

/** `chat_files` as a compacted table: its Glue columns (`string`, `int`), typed as its JSON view types them. */
export const CHAT_FILE_SCHEMA: readonly LakeField[] = CHAT_FILE_COLUMNS.map((c) => ({
  name: c.name,
  type: c.glueType === 'int' ? INT : STRING,
  comment: c.comment,
}));

/**
 * Which of a file's `chat_files` rows every reader keeps (the DuckDB view, the Athena view, the
 * compactions): one row per day, chat and URL; a `stored` row before any other (a stored file is
 * never fetched again while its JSON row is there, so a later `gone` or `failed` row only comes
 * from a re-archive that could not see a compacted row), then the newest `fetched_at`, `run_id`.
 */
export const CHAT_FILE_KEY = ['dt', 'coalesce(thread_id, chat_id)', 'url'] as const;
export const CHAT_FILE_ORDER = "CASE WHEN status = 'stored' THEN 0 ELSE 1 END, fetched_at DESC, run_id DESC";

/** The schema of each compacted table, by its prefix: the chat tables and `chat_files`. */
export const SCHEMA_OF_TABLE: Readonly<Record<string, readonly LakeField[]>> = {
  [CHATS_PREFIX]: CHAT_SCHEMA,
  [ARCHIVES_PREFIX]: THREAD_SCHEMA,
  [CHAT_FILES_PREFIX]: CHAT_FILE_SCHEMA,
};
