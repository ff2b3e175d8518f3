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

/** The schema of each chat table, by its prefix. */
export const SCHEMA_OF_TABLE: Readonly<Record<string, readonly LakeField[]>> = {
  [CHATS_PREFIX]: CHAT_SCHEMA,
  [ARCHIVES_PREFIX]: THREAD_SCHEMA,
};
