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
  unknownFieldPaths,
} from '#lake/chat-columns.ts';
import { FIXTURE_PAGES, toRecord } from './fixtures/chat-lake.ts';
import { SEED_CHAT, SEED_NESTED_FIELDS, SEED_TOP_LEVEL_FIELDS } from './fixtures/seed-chat.ts';
import { DOC_CHAT, DOC_TOP_LEVEL_FIELDS } from './fixtures/v2-doc-chat.ts';

const METADATA = ['_run_id', '_archived_at', '_page', '_mistyped'];
const column = (name: string) => {
  const c = CHAT_COLUMNS.find((col) => col.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
};
const seedRecord = { ...SEED_CHAT, _run_id: 'run-seed', _archived_at: '2024-01-01T00:00:00.000Z', _page: 1 };

describe('CHAT_COLUMNS', () => {
  it('covers the documented v2 example chat, the seed example and the client-seen fields, in doc order, then metadata', () => {
    const names = CHAT_COLUMNS.map((c) => c.name);
    expect(Object.keys(DOC_CHAT)).toEqual([...DOC_TOP_LEVEL_FIELDS]);
    expect(names.filter((name) => (DOC_TOP_LEVEL_FIELDS as readonly string[]).includes(name))).toEqual([
      ...DOC_TOP_LEVEL_FIELDS,
    ]);
    for (const name of SEED_TOP_LEVEL_FIELDS) expect(names).toContain(name);
    const clientSeen = ['visitor_ip', 'pending', 'tickets', 'time', 'email', 'message'];
    expect(
      names.filter((name) => ![...DOC_TOP_LEVEL_FIELDS, ...SEED_TOP_LEVEL_FIELDS, ...METADATA].includes(name as never)),
    ).toEqual(clientSeen);
    expect(names.slice(-METADATA.length)).toEqual(METADATA);
  });

  it('has every nested field of the documented example and of the seed, and no other', () => {
    const structFields = (type: LakeType): string[] => {
      const struct = type.kind === 'array' ? type.element : type;
      return struct.kind === 'struct' ? struct.fields.map((f) => f.name) : [];
    };
    const keysOf = (value: unknown): string[] => {
      const items = Array.isArray(value) ? value : [value];
      return [...new Set(items.flatMap((item) => Object.keys(item as object)))];
    };
    for (const name of DOC_TOP_LEVEL_FIELDS) {
      const type = CHAT_SCHEMA.find((f) => f.name === name)!.type;
      const value = DOC_CHAT[name];
      if (typeof value !== 'object' || (Array.isArray(value) && typeof value[0] !== 'object')) continue;
      expect(structFields(type).sort(), name).toEqual(keysOf(value).sort());
    }
    for (const [name, fields] of Object.entries(SEED_NESTED_FIELDS)) {
      const type = CHAT_SCHEMA.find((f) => f.name === name)!.type;
      for (const nested of fields) expect(structFields(type), name).toContain(nested);
    }
  });

  it('renders the exact Glue types', () => {
    const message = 'author_name:string,text:string,date:string,timestamp:bigint,user_type:string,agent_id:string';
    const expected: Record<string, string> = {
      type: 'string',
      id: 'string',
      visitor_name: 'string',
      visitor_id: 'string',
      visitor_ip: 'string',
      visitor:
        'struct<id:string,name:string,ip:string,city:string,country:string,country_code:string,timezone:string,region:string,user_agent:string>',
      agents: 'array<struct<display_name:string,email:string>>',
      supervisors: 'array<struct<display_name:string,email:string>>',
      rate: 'string',
      duration: 'int',
      chat_start_url: 'string',
      referrer: 'string',
      group: 'array<int>',
      started: 'string',
      prechat_survey: 'array<struct<key:string,value:string,id:string>>',
      postchat_survey: 'array<struct<key:string,value:string,id:string>>',
      custom_variables: 'array<struct<key:string,value:string>>',
      integration_variables: 'array<struct<key:string,value:string>>',
      goals:
        'array<struct<id:int,name:string,type:string,date:string,timestamp:bigint,order:struct<id:string,description:string,price:string,currency:string>>>',
      queue: 'struct<duration:int>',
      tags: 'array<string>',
      timezone: 'string',
      messages: `array<struct<${message}>>`,
      events: `array<struct<${message},type:string,files:array<string>,event_type:string>>`,
      engagement: 'string',
      pending: 'boolean',
      tickets: 'array<string>',
      time: 'string',
      email: 'string',
      message: 'string',
      started_timestamp: 'bigint',
      ended_timestamp: 'bigint',
      ended: 'string',
      _run_id: 'string',
      _archived_at: 'string',
      _page: 'int',
      _mistyped: 'string',
    };
    expect(Object.fromEntries(CHAT_COLUMNS.map((c) => [c.name, c.glueType]))).toEqual(expected);
  });

  it('renders matching DuckDB types', () => {
    expect(column('duration').duckdbType).toBe('INTEGER');
    expect(column('started_timestamp').duckdbType).toBe('BIGINT');
    expect(column('group').duckdbType).toBe('INTEGER[]');
    expect(column('goals').duckdbType).toBe(
      'STRUCT("id" INTEGER, "name" VARCHAR, "type" VARCHAR, "date" VARCHAR, "timestamp" BIGINT, "order" STRUCT("id" VARCHAR, "description" VARCHAR, "price" VARCHAR, "currency" VARCHAR))[]',
    );
    expect(column('pending').duckdbType).toBe('BOOLEAN');
    expect(column('queue').duckdbType).toBe('STRUCT("duration" INTEGER)');
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
    expect(s.tags).toEqual(['VARCHAR']);
    expect(s.queue).toEqual({ duration: 'INTEGER' });
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
  it('accepts the documented example chat, the seed example chat and every fixture record', () => {
    expect(findSchemaViolations(seedRecord)).toEqual([]);
    expect(findSchemaViolations({ ...seedRecord, ...DOC_CHAT })).toEqual([]);
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
    expect(findSchemaViolations({ ...seedRecord, greeting: 'x' })).toEqual(['$: unknown field(s): greeting']);
    expect(findSchemaViolations({ ...seedRecord, pending: 'yes' })).toEqual([
      '$.pending: expected boolean, got string',
    ]);
    expect(findSchemaViolations({ ...seedRecord, goals: [{ id: 1, order: { price: 199 } }] })).toEqual([
      '$.goals[0].order.price: expected string, got number',
    ]);
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

describe('unknownFieldPaths', () => {
  it('finds nothing in the documented example chat or in a lake record', () => {
    expect([...unknownFieldPaths(DOC_CHAT)]).toEqual([]);
    expect([...unknownFieldPaths(seedRecord)]).toEqual([]);
  });

  it('names fields the table does not know, at any depth, by path and never by value', () => {
    const chat = {
      ...DOC_CHAT,
      greeting: { id: 7, text: 'secret-greeting-text' },
      visitor: { ...DOC_CHAT.visitor, language: 'pl' },
      events: [...DOC_CHAT.events, { type: 'message', text: 'x', message_json: '{}', event_id: 'e1' }],
      goals: [{ ...DOC_CHAT.goals[0], order: { ...DOC_CHAT.goals[0]!.order, tax: '1' } }],
    };
    const found = [...unknownFieldPaths(chat)].sort();
    expect(found).toEqual([
      'events[].event_id',
      'events[].message_json',
      'goals[].order.tax',
      'greeting',
      'visitor.language',
    ]);
    expect(JSON.stringify(found)).not.toContain('secret-greeting-text');
  });

  it('collects across chats into one set', () => {
    const found = new Set<string>();
    unknownFieldPaths({ id: 'a', x: 1 }, found);
    unknownFieldPaths({ id: 'b', x: 2, y: [1] }, found);
    expect([...found]).toEqual(['x', 'y']);
  });
});
