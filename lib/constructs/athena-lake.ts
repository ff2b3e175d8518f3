import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { parseGlueType } from '#infra/glue-type.ts';
import {
  CHAT_FILES_TIER,
  COMPACTED_TABLES,
  type CompactedTable,
  MONTH_PARTITION,
  viewColumns,
  viewSql,
} from '#lake/athena-compaction-sql.ts';
import { DT_PROJECTION_END } from '#lake/athena-projection.ts';
import {
  JSON_SERDE,
  LAKE_TABLE,
  type LakeColumn,
  PARTITION_KEYS,
  TEXT_INPUT_FORMAT,
  TEXT_OUTPUT_FORMAT,
  toColumn,
} from '#lake/chat-columns.ts';
import { CHAT_FILES_TABLE } from '#lake/chat-files-table.ts';
import { MONTH_COLUMN, RAW_JSON_COLUMN } from '#lake/compacted-columns.ts';
import { DAY_PLAN_COLUMNS, DAY_PLANS_PREFIX, DAY_PLANS_TABLE } from '#lake/day-plan-table.ts';
import { DROPPED_CHAT_COLUMNS, DROPPED_CHATS_PREFIX, DROPPED_CHATS_TABLE } from '#lake/dropped-chats-table.ts';
import { EXPIRED_DAY_COLUMNS, EXPIRED_DAYS_PREFIX, EXPIRED_DAYS_TABLE } from '#lake/expired-days-table.ts';
import { compactedTablePrefix } from '#lake/lake-layout.ts';
import { DEFAULT_WINDOW, NAMED_QUERIES } from '#lake/named-queries.ts';
import { ATHENA } from '#lake/sql-dialect.ts';
import { THREADS_TABLE } from '#lake/thread-columns.ts';
import { secureBucketProps } from './secure-bucket.ts';

export const PROJECTED_PARTITION = 'dt';
export const ATHENA_ENGINE_VERSION = 'Athena engine version 3';

const CHATS_DATA_FORMAT = new glue.DataFormat({
  inputFormat: new glue.InputFormat(TEXT_INPUT_FORMAT),
  outputFormat: new glue.OutputFormat(TEXT_OUTPUT_FORMAT),
  serializationLibrary: new glue.SerializationLibrary(JSON_SERDE.library),
  classificationString: glue.ClassificationString.JSON,
});

/** The stored lines of the same files as text, one string column: U+0001, the field delimiter, never occurs in a JSON line. */
const LINES_DATA_FORMAT = new glue.DataFormat({
  inputFormat: new glue.InputFormat(TEXT_INPUT_FORMAT),
  outputFormat: new glue.OutputFormat(TEXT_OUTPUT_FORMAT),
  serializationLibrary: glue.SerializationLibrary.LAZY_SIMPLE,
  classificationString: new glue.ClassificationString('text'),
});
const LINES_SERDE_PARAMETERS = { 'field.delim': '\u0001', 'serialization.format': '\u0001' };

export interface AthenaLakeProps {
  readonly config: ArchiverConfig;
  readonly bucket: s3.IBucket;
  readonly accessLogs: s3.IBucket;
}

/** One chat table: its JSON files, their stored lines, its compacted days, and the view users query. */
export interface ChatTableTier {
  json: glue.S3Table;
  lines: glue.S3Table;
  compacted: glue.S3Table;
  /** The compacted months (small days): partition `month`, `dt` a column. */
  compactedMonths: glue.S3Table;
  view: glue.CfnTable;
}

export class AthenaLake extends Construct {
  readonly database: glue.Database;
  /** `chats_json`: every source, the v2 columns, the days not compacted yet (the view `chats` reads it and `chats_compacted`). */
  readonly table: glue.S3Table;
  /** `chat_threads_json`: the raw v3.6 list_archives entries not compacted yet. */
  readonly threadsTable: glue.S3Table;
  /** Per chat table (`chats`, `chat_threads`): JSON, lines, compacted (Parquet) tables and the view. */
  readonly tiers: Record<string, ChatTableTier>;
  /** Where the compactor's UNLOADs run (docs/compaction.md). */
  readonly compactionWorkGroup: athena.CfnWorkGroup;
  readonly resultsBucket: s3.Bucket;
  readonly workGroup: athena.CfnWorkGroup;
  readonly namedQueries: athena.CfnNamedQuery[];
  /** What to run after a night: is every planned chat in the lake? */
  readonly dayCompletenessQuery: athena.CfnNamedQuery;
  readonly dayPlansTable: glue.S3Table;
  readonly droppedChatsTable: glue.S3Table;
  readonly expiredDaysTable: glue.S3Table;
  /** `chat_files_json`: one row per attachment reference not compacted yet (files/ holds the bytes); the view `chat_files` reads it and the compacted ones. */
  readonly chatFilesTable: glue.S3Table;

  constructor(scope: Construct, id: string, { config, bucket, accessLogs }: AthenaLakeProps) {
    super(scope, id);
    const partitionNames = PARTITION_KEYS.map((key) => key.name).join(', ');
    if (partitionNames !== PROJECTED_PARTITION) {
      throw new Error(
        `The chats table projects only "${PROJECTED_PARTITION}", but PARTITION_KEYS are: ${partitionNames}`,
      );
    }

    // The database, table, workgroup and saved queries are definitions this stack recreates
    // identically; the data lives in S3. They go with the stack whatever removalPolicy says, so a
    // redeploy after `cdk destroy` does not fail on their fixed names.
    this.database = new glue.Database(this, 'Database', {
      databaseName: config.glueDatabaseName,
      description: 'LiveChat chats archived by livechat-archiver',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const chats = this.chatTable('Chats', config, bucket, COMPACTED_TABLES[0]!, {
      json: 'One row per archived copy of a LiveChat chat in the JSON files (days not compacted yet), partitioned by chat day dt (yyyy-MM-dd): the day the archiver listed the chat under, not the day it ran. Query the view chats.',
      compacted:
        'Compacted days of chats (Parquet, ZSTD): the latest copy of each chat, the same columns plus _raw_json (the stored line). Query the view chats.',
      view: "Every archived copy of a LiveChat chat: the JSON days (chats_json) and the compacted days (chats_compacted, chats_compacted_months), partitioned by chat day dt; month (yyyy-MM of dt) prunes the compacted month files, so filter on both: WHERE dt BETWEEN '2026-01-01' AND '2026-01-31' AND month BETWEEN '2026-01' AND '2026-01'.",
    });
    this.table = chats.json;

    this.dayPlansTable = this.projectedTable('DayPlansTable', {
      config,
      bucket,
      tableName: DAY_PLANS_TABLE,
      description:
        'What each day task planned (one row per run, day and attempt; the latest plannedat of a day is what the lake should hold), partitioned by chat day dt.',
      columns: DAY_PLAN_COLUMNS.map(toGlueColumn),
      prefix: DAY_PLANS_PREFIX,
      compressed: false,
    });

    const threads = this.chatTable('ChatThreads', config, bucket, COMPACTED_TABLES[1]!, {
      json: 'v3.6 source: one row per archived copy of a list_archives entry (a chat with one thread) in the JSON files (days not compacted yet), every field kept; partitioned by chat day dt. Query the view chat_threads.',
      compacted:
        'Compacted days of chat_threads (Parquet, ZSTD): the latest copy of each thread, plus _raw_json. Query the view chat_threads.',
      view: 'v3.6 source: every archived copy of a list_archives entry, JSON days and compacted days, partitioned by chat day dt (yyyy-MM-dd), as chats.',
    });
    this.threadsTable = threads.json;

    this.droppedChatsTable = this.projectedTable('DroppedChatsTable', {
      config,
      bucket,
      tableName: DROPPED_CHATS_TABLE,
      description:
        'Chats of erased visitors a day does not hold (dropped at write, or removed by an erase), so day_completeness does not count them missing; partitioned by chat day dt.',
      columns: DROPPED_CHAT_COLUMNS.map(toGlueColumn),
      prefix: DROPPED_CHATS_PREFIX,
      compressed: false,
    });

    this.expiredDaysTable = this.projectedTable('ExpiredDaysTable', {
      config,
      bucket,
      tableName: EXPIRED_DAYS_TABLE,
      description:
        'Days whose chat files npm run prune removed (local lakes; the S3 retentionDays rule records nothing, day_completeness knows its cutoff), so day_completeness reads them expired, not missing; partitioned by chat day dt.',
      columns: EXPIRED_DAY_COLUMNS.map(toGlueColumn),
      prefix: EXPIRED_DAYS_PREFIX,
      compressed: false,
    });

    const chatFiles = this.chatTable('ChatFiles', config, bucket, CHAT_FILES_TIER, {
      json: 'One row per file a chat points to (attachments) in the row objects of days not compacted yet: status (stored, gone, too_large, refused_host, failed), sha256, size and the lake key of the bytes under files/; partitioned by chat day dt. Query the view chat_files.',
      compacted:
        'Compacted days of chat_files (Parquet, ZSTD): the row each file keeps, the same columns plus _raw_json (the stored object). Query the view chat_files.',
      view: 'One row per file a chat points to (attachments): status (stored, gone, too_large, refused_host, failed), sha256, size and the lake key of the bytes under files/; the JSON rows (chat_files_json) and the compacted days, one row per day, chat and URL (a stored row first, then the newest fetched_at); partitioned by chat day dt.',
    });
    this.chatFilesTable = chatFiles.json;
    this.tiers = { [LAKE_TABLE]: chats, [THREADS_TABLE]: threads, [CHAT_FILES_TABLE]: chatFiles };

    this.resultsBucket = new s3.Bucket(this, 'ResultsBucket', {
      ...secureBucketProps(config, 'athena-results'),
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'athena-results/',
      lifecycleRules: [
        {
          id: 'expire-query-results',
          expiration: Duration.days(config.athenaResultsExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    this.workGroup = this.workGroupOf(
      'WorkGroup',
      config.athenaWorkGroupName,
      'Queries over the LiveChat archive; results encrypted, scan size capped.',
      'results/',
      config.bytesScannedCutoffBytes,
    );
    // The compactor's own workgroup: its UNLOADs read one day, write Parquet into the lake's staging
    // prefix (UNLOAD's TO location), and keep their metadata and manifests apart from users' results.
    this.compactionWorkGroup = this.workGroupOf(
      'CompactionWorkGroup',
      `${config.athenaWorkGroupName}-compaction`,
      'Compaction of settled days into Parquet (UNLOAD), run by the compaction state machine.',
      COMPACTION_RESULTS_PREFIX,
      config.bytesScannedCutoffBytes,
    );

    this.namedQueries = NAMED_QUERIES.map(
      (query) =>
        new athena.CfnNamedQuery(this, `Query-${query.name}`, {
          name: query.name,
          description: query.description,
          database: this.database.databaseName,
          workGroup: this.workGroup.ref,
          // day_completeness reads a short day past the lake's retention as expired, not missing.
          queryString: query.render(ATHENA, DEFAULT_WINDOW, { retentionDays: config.retentionDays }),
        }),
    );
    this.dayCompletenessQuery = this.namedQueries.find((query) => query.name === 'day_completeness')!;
  }

  /** A chat table's JSON table, lines table, compacted (Parquet) table, and the view over JSON + compacted. */
  private chatTable(
    id: string,
    config: ArchiverConfig,
    bucket: s3.IBucket,
    tier: CompactedTable,
    descriptions: { json: string; compacted: string; view: string },
  ): ChatTableTier {
    const columns = tier.schema.map(toColumn).map(toGlueColumn);
    const json = this.projectedTable(`${id}JsonTable`, {
      config,
      bucket,
      tableName: tier.jsonTable,
      description: descriptions.json,
      columns,
      prefix: tier.prefix,
      // chat_files: one plain JSON object per file.
      compressed: !tier.fileRows,
    });
    const lines = this.projectedTable(`${id}LinesTable`, {
      config,
      bucket,
      tableName: tier.linesTable,
      description: `The stored lines of ${tier.jsonTable}'s files, one string per line: what compaction keeps as _raw_json.`,
      columns: [{ name: 'line', type: glue.Schema.STRING, comment: 'One stored line (a JSON object) verbatim' }],
      prefix: tier.prefix,
      compressed: !tier.fileRows,
      dataFormat: LINES_DATA_FORMAT,
      serdeParameters: LINES_SERDE_PARAMETERS,
    });
    const compacted = this.projectedTable(`${id}CompactedTable`, {
      config,
      bucket,
      tableName: tier.compactedTable,
      description: descriptions.compacted,
      columns: [
        ...columns,
        {
          name: RAW_JSON_COLUMN,
          type: glue.Schema.STRING,
          comment: 'The stored line (JSON) verbatim: every field the API sent',
        },
      ],
      prefix: compactedTablePrefix(tier.prefix),
      compressed: false,
      dataFormat: glue.DataFormat.PARQUET,
    });
    const compactedMonths = this.projectedTable(`${id}CompactedMonthsTable`, {
      config,
      bucket,
      tableName: tier.compactedMonthsTable,
      description: `${descriptions.compacted} Small days, one file per month (partition month, the row's day in column dt).`,
      columns: [
        ...columns,
        {
          name: RAW_JSON_COLUMN,
          type: glue.Schema.STRING,
          comment: 'The stored line (JSON) verbatim: every field the API sent',
        },
        ...PARTITION_KEYS.map(toGlueColumn),
      ],
      prefix: compactedTablePrefix(tier.prefix),
      compressed: false,
      dataFormat: glue.DataFormat.PARQUET,
      byMonth: true,
    });
    // The view keeps the construct path, so the logical ID, of the table that had its name before
    // it became a view (`${id}Table`): upgrading a stack deployed before that updates the resource
    // in place (UpdateTable) instead of creating a second one with the same name, which would fail
    // (docs/compaction.md, upgrading a deployed stack).
    const view = new glue.CfnTable(new Construct(this, `${id}Table`), 'Table', {
      catalogId: Stack.of(this).account,
      databaseName: this.database.databaseName,
      tableInput: {
        name: tier.view,
        description: descriptions.view,
        tableType: 'VIRTUAL_VIEW',
        parameters: { presto_view: 'true', comment: 'Presto View' },
        viewOriginalText: prestoViewText(config.glueDatabaseName, tier),
        viewExpandedText: '/* Presto View */',
        partitionKeys: [],
        storageDescriptor: {
          columns: [...tier.schema.map(toColumn), ...PARTITION_KEYS, MONTH_COLUMN].map((c) => ({
            name: c.name,
            type: c.glueType,
            comment: c.comment,
          })),
          serdeInfo: {},
        },
      },
    });
    view.addResourceDependency(json.node.defaultChild as glue.CfnTable);
    view.addResourceDependency(compacted.node.defaultChild as glue.CfnTable);
    view.addResourceDependency(compactedMonths.node.defaultChild as glue.CfnTable);
    return { json, lines, compacted, compactedMonths, view };
  }

  /**
   * A table over `s3://<lake>/<prefix>dt=…/` (JSON unless told), dt projected from projectionStart
   * to DT_PROJECTION_END (a day past NOW: the lake's today east of UTC). Month tables end at NOW:
   * their files hold settled days only.
   */
  private projectedTable(
    id: string,
    props: {
      config: ArchiverConfig;
      bucket: s3.IBucket;
      tableName: string;
      description: string;
      columns: glue.Column[];
      prefix: string;
      compressed: boolean;
      dataFormat?: glue.DataFormat;
      serdeParameters?: Record<string, string>;
      /** Partitioned by `month` (yyyy-MM, projected by month) instead of `dt`. */
      byMonth?: boolean;
    },
  ): glue.S3Table {
    const { config, bucket, prefix } = props;
    const partition = props.byMonth ? MONTH_PARTITION : PROJECTED_PARTITION;
    const table = new glue.S3Table(this, id, {
      database: this.database,
      tableName: props.tableName,
      description: props.description,
      columns: props.columns,
      partitionKeys: props.byMonth
        ? [{ name: MONTH_PARTITION, type: glue.Schema.STRING, comment: 'The month of the days a file holds (yyyy-MM)' }]
        : PARTITION_KEYS.map(toGlueColumn),
      dataFormat: props.dataFormat ?? CHATS_DATA_FORMAT,
      compressed: props.compressed,
      // SSE-S3 objects are decrypted by S3; `has_encrypted_data` is for client-side (CSE-KMS) data only.
      hasEncryptedData: false,
      storage: glue.S3TableStorage.fromBucket(bucket),
      s3Prefix: prefix,
      partitionProjection: {
        [partition]: glue.PartitionProjectionConfiguration.date({
          min: props.byMonth ? config.projectionStart.slice(0, 7) : config.projectionStart,
          max: props.byMonth ? 'NOW' : DT_PROJECTION_END,
          format: props.byMonth ? 'yyyy-MM' : 'yyyy-MM-dd',
          step: {
            interval: 1,
            intervalUnit: props.byMonth ? glue.DateIntervalUnit.MONTHS : glue.DateIntervalUnit.DAYS,
          },
        }),
      },
      parameters: {
        'storage.location.template': `s3://${bucket.bucketName}/${prefix}${partition}=\${${partition}}/`,
      },
    });
    const serdeParameters = props.serdeParameters ?? (props.dataFormat ? {} : JSON_SERDE.parameters);
    if (Object.keys(serdeParameters).length > 0) {
      (table.node.defaultChild as glue.CfnTable).addPropertyOverride(
        'TableInput.StorageDescriptor.SerdeInfo.Parameters',
        serdeParameters,
      );
    }
    return table;
  }

  /** A workgroup on the pinned engine, its settings enforced, scans capped, results under `resultsPrefix` (SSE-S3). */
  private workGroupOf(
    id: string,
    name: string,
    description: string,
    resultsPrefix: string,
    cutoffBytes: number,
  ): athena.CfnWorkGroup {
    const workGroup = new athena.CfnWorkGroup(this, id, {
      name,
      description,
      state: 'ENABLED',
      // Deleting the stack deletes the workgroup with its query history; results stay in their bucket.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoffBytes,
        // Pinned: the named queries are written for Trino (engine v3); AUTO could move them.
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject(resultsPrefix),
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
    workGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return workGroup;
  }
}

/** Where the compaction workgroup's query metadata and UNLOAD manifests go, in the results bucket. */
export const COMPACTION_RESULTS_PREFIX = 'compaction/';

/**
 * An Athena view as Athena itself stores it in the Glue catalog (what `CREATE VIEW` writes): the
 * original SQL, catalog, schema and column types (Trino types) as base64 JSON in a comment.
 */
function prestoViewText(database: string, tier: CompactedTable): string {
  const definition = {
    originalSql: viewSql(database, tier),
    catalog: 'awsdatacatalog',
    schema: database,
    columns: viewColumns(tier),
  };
  return `/* Presto View: ${Buffer.from(JSON.stringify(definition), 'utf8').toString('base64')} */`;
}

function toGlueColumn(column: Pick<LakeColumn, 'name' | 'glueType' | 'comment'>): glue.Column {
  return { name: column.name, type: parseGlueType(column.glueType), comment: column.comment };
}
