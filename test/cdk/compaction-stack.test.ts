import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchiverStack } from '#infra/archiver-stack.ts';
import { CHAT_FILES_TIER, COMPACTED_TABLES, viewColumns, viewSql } from '#lake/athena-compaction-sql.ts';
import { PARTITION_KEYS, toColumn } from '#lake/chat-columns.ts';
import { MONTH_COLUMN } from '#lake/compacted-columns.ts';
import { logicalId, synthStack } from '#test/support/synth-stack.ts';

const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
const arn = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });
const objects = (construct: IConstruct, pattern: string) => ({ 'Fn::Join': ['', [arn(construct), `/${pattern}`]] });

/** Every (action, resource, condition) the inline policies of a role allow, as sorted JSON tuples. */
function grantsOf(template: Template, role: IConstruct): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([ref(role)]))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as any[])
    .flatMap((statement) =>
      [statement.Action]
        .flat()
        .flatMap((action: string) =>
          [statement.Resource]
            .flat()
            .map((resource: unknown) => JSON.stringify([action, resource, statement.Condition ?? null])),
        ),
    )
    .sort();
}

const grants = (...tuples: [string, unknown, unknown?][]) =>
  tuples.map(([action, resource, condition]) => JSON.stringify([action, resource, condition ?? null])).sort();

/** The lake prefixes of the default stack's compacted tables: chats (v2) and chat-files (attachments on). */
const TABLE_PREFIXES = ['chats/', 'chat-files/'];
/** Each table prefix under each of `parents`, as an `s3:prefix` pattern. */
const tablePatterns = (...parents: string[]) =>
  parents.flatMap((parent) => TABLE_PREFIXES.map((prefix) => `${parent}${prefix}*`));
/** `action` on the objects of each table prefix under `parent` in `bucket`. */
const perTable = (action: string, bucket: IConstruct, parent = ''): [string, unknown][] =>
  tablePatterns(parent).map((pattern) => [action, objects(bucket, pattern)]);

const tableInput = (template: Template, name: string) =>
  Object.values(template.findResources('AWS::Glue::Table')).find((r) => r.Properties.TableInput.Name === name)!
    .Properties.TableInput;

/** What a view's ViewOriginalText holds: Athena's view definition, base64 JSON in a comment. */
function prestoView(view: { ViewOriginalText: string }): { originalSql: string } & Record<string, unknown> {
  const encoded = /^\/\* Presto View: ([A-Za-z0-9+/=]+) \*\/$/.exec(view.ViewOriginalText)![1]!;
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
}

/** The chat tables and chat_files: each is a view over its JSON, compacted and month tables. */
const TIERS = [...COMPACTED_TABLES, CHAT_FILES_TIER];

const glueColumns = (columns: { name: string; glueType: string; comment: string }[]) =>
  columns.map((c) => ({ Name: c.name, Type: c.glueType, Comment: c.comment }));

describe('compaction on AWS: tables, view, state machine, schedule, least privilege, alarm', () => {
  let stack: ArchiverStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthStack());
  }, 60_000);

  it.each(TIERS.map((t) => [t.view, t] as const))(
    '%s is a view over its JSON table and its compacted table, with the same columns',
    (_name, t) => {
      const view = tableInput(template, t.view);
      expect(view).toMatchObject({
        TableType: 'VIRTUAL_VIEW',
        Parameters: { presto_view: 'true' },
        ViewExpandedText: '/* Presto View */',
        PartitionKeys: [],
      });
      expect(prestoView(view)).toEqual({
        originalSql: viewSql('livechat_archive', t),
        catalog: 'awsdatacatalog',
        schema: 'livechat_archive',
        columns: viewColumns(t),
      });
      // The table's columns, dt, and month (yyyy-MM of dt, the month files' partition: docs/compaction.md).
      expect(view.StorageDescriptor.Columns).toEqual(
        glueColumns([...t.schema.map(toColumn), ...PARTITION_KEYS, MONTH_COLUMN]),
      );
      expect(view.StorageDescriptor.Columns.at(-1)).toMatchObject({ Name: 'month', Type: 'string' });
      // The JSON table keeps the table's columns and SerDe (archiver-stack.test.ts), under its own name.
      expect(tableInput(template, t.jsonTable).StorageDescriptor.Columns).toEqual(glueColumns(t.schema.map(toColumn)));
    },
  );

  it.each(COMPACTED_TABLES.map((t) => [t.view, t] as const))(
    '%s: its month is the months table’s projected partition key itself, so a month filter prunes month files by name',
    (_name, t) => {
      const sql: string = prestoView(tableInput(template, t.view)).originalSql;
      const branches = sql.split('\nUNION ALL\n');
      expect(branches).toHaveLength(3);
      // The JSON days and the day files: month derived from their dt partition.
      for (const [branch, table] of [
        [branches[0]!, t.jsonTable],
        [branches[1]!, t.compactedTable],
      ]) {
        expect(branch).toMatch(
          new RegExp(`, "dt", substr\\("dt", 1, 7\\) AS "month"\\nFROM "livechat_archive"\\."${table}"$`),
        );
      }
      // The month files: the column is the partition key, not an expression Trino could not map to it.
      expect(branches[2]).toMatch(
        new RegExp(`, "dt", "month"\\nFROM "livechat_archive"\\."${t.compactedMonthsTable}"$`),
      );
      const months = tableInput(template, t.compactedMonthsTable);
      expect(months.PartitionKeys).toEqual([expect.objectContaining({ Name: 'month', Type: 'string' })]);
      expect(months.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.month.type': 'date',
        'projection.month.format': 'yyyy-MM',
      });
      expect(months.Parameters['storage.location.template']['Fn::Join'][1].at(-1)).toBe(
        `/compacted/${t.prefix}month=\${month}/`,
      );
    },
  );

  it('every saved query reading chats or chat_threads filters the month of its days right under that FROM', () => {
    const saved = Object.values(template.findResources('AWS::Athena::NamedQuery')).map(
      (q) => q.Properties as { Name: string; QueryString: string },
    );
    const first = "CAST(current_date - INTERVAL '30' DAY AS varchar)";
    let reads = 0;
    for (const query of saved) {
      const views = [...query.QueryString.matchAll(/\bFROM (?:chats|chat_threads)\b( \w)?/g)];
      const filtered = [
        ...query.QueryString.matchAll(
          /\bFROM (?:chats|chat_threads)( \w)?\n *-- EDIT HERE: .*\n *WHERE (?:\w\.)?dt >= (.+)\n *AND (?:\w\.)?month >= substr\((.+), 1, 7\)\n/g,
        ),
      ];
      expect(filtered.length, query.Name).toBe(views.length);
      for (const [, , dt, month] of filtered) {
        expect(dt, query.Name).toBe(first);
        expect(month, query.Name).toBe(first);
      }
      reads += views.length;
    }
    // chats_json (the JSON days alone) has no month: its partition is dt.
    expect(saved.map((q) => q.QueryString).join('\n')).not.toMatch(/FROM chats_json \w\n.*\n.*\n *AND \w\.month/);
    expect(reads).toBeGreaterThanOrEqual(16);
  });

  it.each(TIERS.map((t) => [t.compactedTable, t] as const))(
    '%s reads Parquet under compacted/, dt projected, the columns plus _raw_json',
    (_name, t) => {
      const table = tableInput(template, t.compactedTable);
      expect(table.StorageDescriptor).toMatchObject({
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        Location: { 'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/compacted/${t.prefix}`]] },
      });
      expect(table.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual([
        ...t.schema.map((f) => f.name),
        '_raw_json',
      ]);
      expect(table.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'storage.location.template': {
          'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/compacted/${t.prefix}dt=\${dt}/`]],
        },
      });
    },
  );

  it.each(TIERS.map((t) => [t.compactedMonthsTable, t] as const))(
    '%s reads the month files under compacted/, month projected by month, the columns plus _raw_json and dt',
    (_name, t) => {
      const table = tableInput(template, t.compactedMonthsTable);
      expect(table.StorageDescriptor).toMatchObject({
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        Location: { 'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/compacted/${t.prefix}`]] },
      });
      expect(table.StorageDescriptor.Columns.map((c: { Name: string }) => c.Name)).toEqual([
        ...t.schema.map((f) => f.name),
        '_raw_json',
        'dt',
      ]);
      expect(table.PartitionKeys).toEqual([expect.objectContaining({ Name: 'month', Type: 'string' })]);
      expect(table.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.month.type': 'date',
        'projection.month.format': 'yyyy-MM',
        'projection.month.interval': '1',
        'projection.month.interval.unit': 'MONTHS',
        'storage.location.template': {
          'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/compacted/${t.prefix}month=\${month}/`]],
        },
      });
      expect(table.Parameters['projection.month.range']).toMatch(/^\d{4}-\d{2},NOW$/);
      // The view reads it as its third branch.
      expect(viewSql('livechat_archive', t)).toContain(`FROM "livechat_archive"."${t.compactedMonthsTable}"`);
    },
  );

  it('month files for small days: the compactor is told by expectedChatsPerDay, and gets the retention', () => {
    const env = (t: Template, s: ArchiverStack) =>
      t.toJSON().Resources[logicalId(s.compaction.compactor)].Properties.Environment.Variables;
    // The default volume (2 000 chats a day): a file per day (80 page files a day become one).
    expect(env(template, stack)).toMatchObject({ MONTH_FILES: 'false' });
    expect(env(template, stack)).not.toHaveProperty('RETENTION_DAYS');
    const small = synthStack({ expectedChatsPerDay: 300, retentionDays: 400 });
    expect(env(small.template, small.stack)).toMatchObject({ MONTH_FILES: 'true', RETENTION_DAYS: '400' });
  });

  it.each(TIERS.map((t) => [t.linesTable, t] as const))(
    '%s reads the JSON files as text, one line per row (field delimiter U+0001)',
    (_name, t) => {
      const table = tableInput(template, t.linesTable);
      expect(table.StorageDescriptor).toMatchObject({
        InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        SerdeInfo: {
          SerializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          Parameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' },
        },
        // chat_files: one plain JSON object per file.
        Compressed: !t.fileRows,
        Location: { 'Fn::Join': ['', ['s3://', ref(stack.lake.bucket), `/${t.prefix}`]] },
        Columns: [expect.objectContaining({ Name: 'line', Type: 'string' })],
      });
    },
  );

  it('runs UNLOADs in their own workgroup (engine v3, results under compaction/), waited for by Step Functions', () => {
    const workGroup = template.toJSON().Resources[logicalId(stack.athena.compactionWorkGroup)].Properties;
    expect(workGroup).toMatchObject({
      Name: 'livechat-archiver-compaction',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', ref(stack.athena.resultsBucket), '/compaction/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
        },
      },
    });
    const machine = template.toJSON().Resources[logicalId(stack.compaction.stateMachine)].Properties;
    const definition = JSON.stringify(machine.DefinitionString);
    expect(definition).toContain(':states:::athena:startQueryExecution.sync');
    expect(definition).toContain('\\"WorkGroup\\":\\"livechat-archiver-compaction\\"');
    expect(definition).toContain('\\"QueryString.$\\":\\"$.sql\\"');
    for (const action of ['plan', 'prepare', 'commit']) expect(definition).toContain(`\\"action\\":\\"${action}\\"`);
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.LoggingConfiguration.Level).toBe('ALL');
  });

  it('runs a failed day again from Prepare (any error, twice, backing off), never an UNLOAD in place', () => {
    const machine = template.toJSON().Resources[logicalId(stack.compaction.stateMachine)].Properties;
    const parts = machine.DefinitionString['Fn::Join'][1] as unknown[];
    const definition = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''));
    const days = definition.States.Days;
    expect(days.ItemProcessor.StartAt).toBe('Day');
    const day = days.ItemProcessor.States.Day;
    expect(day).toMatchObject({ Type: 'Parallel', ResultPath: null });
    expect(day.Retry).toEqual([{ ErrorEquals: ['States.ALL'], IntervalSeconds: 60, MaxAttempts: 2, BackoffRate: 2 }]);
    expect(day.Branches).toHaveLength(1);
    expect(day.Branches[0].StartAt).toBe('Prepare');
    const unload = day.Branches[0].States.Unloads.ItemProcessor.States.Unload;
    expect(unload.Resource).toContain(':states:::athena:startQueryExecution.sync');
    expect(unload.Retry).toBeUndefined();
  });

  it('starts after the night, in the archive time zone', () => {
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule')).find(
      (s) => JSON.stringify(s.Properties.Target.Arn) === JSON.stringify(ref(stack.compaction.stateMachine)),
    )!;
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 5 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
    });
    const compactor = template.toJSON().Resources[logicalId(stack.compaction.compactor)].Properties;
    expect(compactor.Environment.Variables).toMatchObject({
      DATABASE: ref(stack.athena.database),
      LOOKBACK_DAYS: '3',
      SETTLE_HOURS: '2',
      MAX_DAYS: '60',
      SOURCE: 'v2',
      TIME_ZONE: 'UTC',
      CHAT_FILES: 'true',
    });
  });

  it('the compactor may list a day, read what UNLOAD staged and the erasure records, write compacted days and delete what they replace', () => {
    const lake = stack.lake.bucket;
    expect(grantsOf(template, stack.compaction.compactor.role!).filter((g) => !g.includes('logs:'))).toEqual(
      grants(
        [
          's3:ListBucket',
          arn(lake),
          {
            StringLike: {
              's3:prefix': [...tablePatterns('', 'compacted/', 'compaction-staging/'), 'manifests/erasures/*'],
            },
          },
        ],
        ...perTable('s3:GetObject', lake, 'compaction-staging/'),
        ['s3:GetObject', objects(lake, 'manifests/erasures/*')],
        ...perTable('s3:PutObject', lake, 'compacted/'),
        ...perTable('s3:DeleteObject', lake),
        ...perTable('s3:DeleteObject', lake, 'compacted/'),
        ...perTable('s3:DeleteObject', lake, 'compaction-staging/'),
      ),
    );
  });

  it('attachments off: chat_files is not compacted, and neither role may touch its prefixes', () => {
    const off = synthStack({ attachments: false });
    const env =
      off.template.toJSON().Resources[logicalId(off.stack.compaction.compactor)].Properties.Environment.Variables;
    expect(env).toMatchObject({ CHAT_FILES: 'false' });
    expect(grantsOf(template, stack.compaction.compactor.role!).join('\n')).toContain('chat-files/');
    for (const role of [off.stack.compaction.compactor.role!, off.stack.compaction.stateMachine.role]) {
      expect(grantsOf(off.template, role).join('\n')).not.toContain('chat-files/');
      expect(grantsOf(off.template, role).join('\n')).not.toContain(
        logicalId(off.stack.athena.tiers['chat_files']!.json),
      );
    }
  });

  it('Athena, with the state machine role, reads the chat tables and writes only the staging prefix and its results', () => {
    const lake = stack.lake.bucket;
    const results = stack.athena.resultsBucket;
    const own = grantsOf(template, stack.compaction.stateMachine.role).filter(
      (g) => !/"(logs|xray):/.test(g) && !g.includes('lambda:InvokeFunction'),
    );
    const s3Grants = own.filter((g) => g.startsWith('["s3:'));
    expect(s3Grants).toEqual(
      grants(
        ['s3:GetBucketLocation', arn(lake)],
        ['s3:GetBucketLocation', arn(results)],
        [
          's3:ListBucket',
          arn(lake),
          { StringLike: { 's3:prefix': tablePatterns('', 'compacted/', 'compaction-staging/') } },
        ],
        ...perTable('s3:GetObject', lake),
        ...perTable('s3:GetObject', lake, 'compacted/'),
        ...perTable('s3:PutObject', lake, 'compaction-staging/'),
        ...perTable('s3:AbortMultipartUpload', lake, 'compaction-staging/'),
        ...perTable('s3:ListMultipartUploadParts', lake, 'compaction-staging/'),
        ['s3:ListBucket', arn(results)],
        ['s3:GetObject', objects(results, 'compaction/*')],
        ['s3:PutObject', objects(results, 'compaction/*')],
        ['s3:AbortMultipartUpload', objects(results, 'compaction/*')],
        ['s3:ListMultipartUploadParts', objects(results, 'compaction/*')],
      ),
    );
    // Never a delete, never the manifests, never another prefix of the lake.
    expect(own.join('\n')).not.toMatch(/s3:Delete|manifests\//);
    const athena = own.filter((g) => g.startsWith('["athena:'));
    expect(athena.map((g) => JSON.parse(g)[0])).toEqual(
      expect.arrayContaining(['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:StopQueryExecution']),
    );
    expect(athena.join('\n')).toContain('workgroup/livechat-archiver-compaction');
    const glue = own.filter((g) => g.startsWith('["glue:')).map((g) => JSON.parse(g)[0] as string);
    expect([...new Set(glue)].sort()).toEqual(['glue:GetDatabase', 'glue:GetPartitions', 'glue:GetTable']);
    // The tables the UNLOADs read, the month files' table among them.
    const getTable = own.filter((g) => g.startsWith('["glue:GetTable"')).join('\n');
    expect(getTable).toContain(logicalId(stack.athena.tiers['chats']!.compactedMonths));
    expect(getTable).toContain(logicalId(stack.athena.tiers['chats']!.compacted));
    // chat_files (attachments on, the default): its JSON, lines, day and month tables.
    const files = stack.athena.tiers['chat_files']!;
    for (const table of [files.json, files.lines, files.compacted, files.compactedMonths])
      expect(getTable).toContain(logicalId(table));
  });

  it('alarms when a compaction run fails, times out or is aborted', () => {
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) =>
      String(a.Properties.AlarmDescription).startsWith('The compaction of settled days'),
    )!;
    expect(alarm.Properties.Metrics[0]).toMatchObject({ Expression: 'failed + timedOut + aborted' });
    expect(
      alarm.Properties.Metrics.slice(1)
        .map((m: any) => m.MetricStat.Metric.MetricName)
        .sort(),
    ).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsTimedOut']);
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});

describe('compaction with retention, tiering and source v3.6', () => {
  let stack: ArchiverStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthStack({
      retentionDays: 365,
      intelligentTieringAfterDays: 30,
      source: 'v3.6',
      lookbackDays: 4,
    }));
  }, 60_000);

  it('expires compacted days with their day (retention less the compaction lag), tiers only compacted files, and clears staging', () => {
    const rules = template.toJSON().Resources[logicalId(stack.lake.bucket)].Properties.LifecycleConfiguration.Rules;
    const byId = (id: string) => rules.find((rule: { Id: string }) => rule.Id === id);
    expect(byId('retention-chats')).toMatchObject({ Prefix: 'chats/', ExpirationInDays: 365 });
    expect(byId('retention-compacted-chats')).toMatchObject({ Prefix: 'compacted/chats/', ExpirationInDays: 360 });
    expect(byId('retention-compacted-chat-files')).toMatchObject({
      Prefix: 'compacted/chat-files/',
      ExpirationInDays: 360,
    });
    expect(byId('retention-compacted-archives')).toMatchObject({
      Prefix: 'compacted/archives/',
      ExpirationInDays: 360,
    });
    expect(byId('expire-compaction-staging')).toMatchObject({ Prefix: 'compaction-staging/', ExpirationInDays: 2 });
    const tiering = rules.filter((rule: object) => JSON.stringify(rule).includes('INTELLIGENT_TIERING'));
    expect(tiering).toEqual([
      expect.objectContaining({
        Prefix: 'compacted/',
        Transitions: [{ StorageClass: 'INTELLIGENT_TIERING', TransitionInDays: 30 }],
      }),
    ]);
  });

  it('v3.6: both tables are compacted, and the roles cover archives/ too', () => {
    const env = template.toJSON().Resources[logicalId(stack.compaction.compactor)].Properties.Environment.Variables;
    expect(env.SOURCE).toBe('v3.6');
    const compactor = grantsOf(template, stack.compaction.compactor.role!).join('\n');
    expect(compactor).toContain('/compacted/archives/*');
    expect(compactor).toContain('/compaction-staging/archives/*');
    const machine = grantsOf(template, stack.compaction.stateMachine.role).join('\n');
    expect(machine).toContain('/archives/*');
  });
});
