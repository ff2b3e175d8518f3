/**
 * What a compacted (Parquet) day file holds beside the table's columns, for every reader and
 * writer of it (DuckDB here, the Glue tables and Athena UNLOADs on AWS). No DuckDB import: the
 * CDK code and the compactor Lambda read it too.
 */
import { CHAT_SCHEMA, type LakeField } from './chat-columns.ts';
import { ARCHIVES_PREFIX, CHATS_PREFIX } from './lake-layout.ts';
import { THREAD_SCHEMA } from './thread-columns.ts';

/** The column holding each row's stored JSON line, verbatim. */
export const RAW_JSON_COLUMN = '_raw_json';

/**
 * The day of each row of a compacted month file (`compacted/chats/month=…/`): the `dt` a day file
 * has as its partition is a column there, the last one.
 */
export const MONTH_FILE_DAY_COLUMN = 'dt';

/**
 * A day with at most this many chats is compacted into its month's file (one object a month and
 * table), a busier day into a file of its own: a month file stays small enough to rewrite whole
 * each night a day of it is compacted (a month of such days is at most ~31 000 chats).
 */
export const SMALL_DAY_CHATS = 1_000;

/** The schema of each chat table, by its prefix. */
export const SCHEMA_OF_TABLE: Readonly<Record<string, readonly LakeField[]>> = {
  [CHATS_PREFIX]: CHAT_SCHEMA,
  [ARCHIVES_PREFIX]: THREAD_SCHEMA,
};
