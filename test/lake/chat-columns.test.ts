import { describe, expect, it } from 'vitest';
import {
  CHAT_COLUMNS,
  CHAT_SCHEMA,
  CHATS_PREFIX,
  duckdbColumnsStruct,
  duckdbJsonStructure,
  findSchemaViolations,
  JSON_SERDE,
  LAKE_TABLE,
  type LakeType,
  PARTITION_KEYS,
  TEXT_INPUT_FORMAT,
  TEXT_OUTPUT_FORMAT,
} from '#lake/chat-columns.ts';
import { FIXTURE_PAGES, toRecord } from './fixtures/chat-lake.ts';
import { SEED_CHAT, SEED_NESTED_FIELDS, SEED_TOP_LEVEL_FIELDS } from './fixtures/seed-chat.ts';

const METADATA = ['_run_id', '_archived_at', '_page'];
const column = (name: string) => {
  const c = CHAT_COLUMNS.find((col) => col.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
};
const seedRecord = { ...SEED_CHAT, _run_id: 'run-seed', _archived_at: '2024-01-01T00:00:00.000Z', _page: 1 };

describe('CHAT_COLUMNS', () => {
  it('covers exactly the seed example chat fields plus the archiver metadata, in seed order', () => {
    expect(CHAT_COLUMNS.map((c) => c.name)).toEqual([...SEED_TOP_LEVEL_FIELDS, ...METADATA]);
    expect(Object.keys(SEED_CHAT)).toEqual([...SEED_TOP_LEVEL_FIELDS]);
  });

  it('has exactly the seed nested fields for every array of objects', () => {
    for (const [name, fields] of Object.entries(SEED_NESTED_FIELDS)) {
      const type = CHAT_SCHEMA.find((f) => f.name === name)!.type;
      expect(type.kind, name).toBe('array');
      const element = (type as Extract<LakeType, { kind: 'array' }>).element;
      expect(element.kind, name).toBe('struct');
      expect(
        (element as Extract<LakeType, { kind: 'struct' }>).fields.map((f) => f.name),
        name,
      ).toEqual(fields);
    }
  });

  it('renders the exact Glue types', () => {
    const expected: Record<string, string> = {
      type: 'string',
      id: 'string',
      visitor_name: 'string',
      visitor_id: 'string',
      agents: 'array<struct<display_name:string,email:string>>',
      supervisors: 'array<struct<display_name:string,email:string>>',
      rate: 'string',
      duration: 'int',
      group: 'array<int>',
      started: 'string',
      prechat_survey: 'array<struct<key:string,value:string,id:string>>',
      custom_variables: 'array<struct<key:string,value:string>>',
      integration_variables: 'array<struct<key:string,value:string>>',
      goals: 'array<struct<id:int,name:string>>',
      messages:
        'array<struct<author_name:string,text:string,date:string,timestamp:bigint,user_type:string,agent_id:string>>',
      started_timestamp: 'bigint',
      ended_timestamp: 'bigint',
      ended: 'string',
      _run_id: 'string',
      _archived_at: 'string',
      _page: 'int',
    };
    expect(Object.fromEntries(CHAT_COLUMNS.map((c) => [c.name, c.glueType]))).toEqual(expected);
  });

  it('renders matching DuckDB types', () => {
    expect(column('duration').duckdbType).toBe('INTEGER');
    expect(column('started_timestamp').duckdbType).toBe('BIGINT');
    expect(column('group').duckdbType).toBe('INTEGER[]');
    expect(column('goals').duckdbType).toBe('STRUCT("id" INTEGER, "name" VARCHAR)[]');
    expect(column('messages').duckdbType).toBe(
      'STRUCT("author_name" VARCHAR, "text" VARCHAR, "date" VARCHAR, "timestamp" BIGINT, "user_type" VARCHAR, "agent_id" VARCHAR)[]',
    );
    expect(column('_page').duckdbType).toBe('INTEGER');
  });

  it('uses Glue/Hive-safe lower-case names and documents every column', () => {
    for (const c of [...CHAT_COLUMNS, ...PARTITION_KEYS]) {
      expect(c.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(c.comment.length, c.name).toBeGreaterThan(5);
      expect(c.comment.length, c.name).toBeLessThanOrEqual(255);
    }
    expect(new Set(CHAT_COLUMNS.map((c) => c.name)).size).toBe(CHAT_COLUMNS.length);
  });

  it('duckdbColumnsStruct() maps every column to its DuckDB type, in order', () => {
    const struct = duckdbColumnsStruct();
    expect(Object.keys(struct)).toEqual(CHAT_COLUMNS.map((c) => c.name));
    for (const c of CHAT_COLUMNS) expect(struct[c.name]).toBe(c.duckdbType);
  });

  it('duckdbJsonStructure() mirrors the schema', () => {
    const s = JSON.parse(duckdbJsonStructure()) as Record<string, unknown>;
    expect(Object.keys(s)).toEqual(CHAT_COLUMNS.map((c) => c.name));
    expect(s.group).toEqual(['INTEGER']);
    expect(s.goals).toEqual([{ id: 'INTEGER', name: 'VARCHAR' }]);
  });
});

describe('table constants', () => {
  it('partitions by dt (string), table chats under chats/', () => {
    expect(PARTITION_KEYS).toEqual([
      expect.objectContaining({ name: 'dt', glueType: 'string', duckdbType: 'VARCHAR' }),
    ]);
    expect(LAKE_TABLE).toBe('chats');
    expect(CHATS_PREFIX).toBe('chats/');
  });

  it('uses the strict Hive JSON SerDe on a text table', () => {
    expect(JSON_SERDE.library).toBe('org.apache.hive.hcatalog.data.JsonSerDe');
    expect(JSON_SERDE.parameters).not.toHaveProperty('ignore.malformed.json', 'TRUE');
    expect(TEXT_INPUT_FORMAT).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(TEXT_OUTPUT_FORMAT).toBe('org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat');
  });
});

describe('findSchemaViolations', () => {
  it('accepts the seed example chat and every fixture record', () => {
    expect(findSchemaViolations(seedRecord)).toEqual([]);
    for (const page of FIXTURE_PAGES) {
      for (const chat of page.chats) expect(findSchemaViolations(toRecord(chat, page))).toEqual([]);
    }
  });

  it('accepts absent and null optional fields', () => {
    const {
      supervisors: _s,
      prechat_survey: _p,
      goals: _g,
      custom_variables: _c,
      integration_variables: _i,
      ...rest
    } = seedRecord;
    expect(findSchemaViolations(rest)).toEqual([]);
    expect(findSchemaViolations({ ...seedRecord, goals: null, rate: null })).toEqual([]);
  });

  it('reports unknown fields, wrong types, bad ints and missing required fields', () => {
    expect(findSchemaViolations({ ...seedRecord, tags: ['x'] })).toEqual(['$: unknown field(s): tags']);
    expect(findSchemaViolations({ ...seedRecord, duration: '1456' })).toEqual(['$.duration: expected int, got string']);
    expect(findSchemaViolations({ ...seedRecord, duration: 1.5 })).toEqual([
      '$.duration: expected int, got non-integral number 1.5',
    ]);
    expect(findSchemaViolations({ ...seedRecord, duration: 2 ** 31 })).toEqual([
      `$.duration: int out of range: ${2 ** 31}`,
    ]);
    expect(findSchemaViolations({ ...seedRecord, group: { id: 0 } })).toEqual(['$.group: expected array, got object']);
    expect(findSchemaViolations({ ...seedRecord, messages: [{ text: 'x', event: 1 }] })).toEqual([
      '$.messages[0]: unknown field(s): event',
    ]);
    const { _archived_at: _a, ...noArchivedAt } = seedRecord;
    expect(findSchemaViolations(noArchivedAt)).toEqual(['$._archived_at: required field missing']);
    expect(findSchemaViolations([seedRecord])).toEqual(['$: expected object, got array']);
  });
});
