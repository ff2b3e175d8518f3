import { describe, expect, it } from 'vitest';
import { GlueTypeError, parseGlueType } from '#infra/glue-type.ts';
import { CHAT_COLUMNS, PARTITION_KEYS } from '#lake/chat-columns.ts';

describe('parseGlueType', () => {
  it.each(['string', 'int', 'bigint', 'double', 'boolean', 'timestamp', 'decimal(10,2)'])(
    'reads the primitive %s',
    (text) => {
      const type = parseGlueType(text);
      expect(type.inputString).toBe(text);
      expect(type.isPrimitive).toBe(true);
    },
  );

  it('reads nested arrays and structs', () => {
    const type = parseGlueType('array<struct<display_name:string,email:string,ids:array<bigint>>>');
    expect(type.inputString).toBe('array<struct<display_name:string,email:string,ids:array<bigint>>>');
    expect(type.isPrimitive).toBe(false);
  });

  it('accepts reserved words and underscores as struct field names', () => {
    expect(parseGlueType('struct<date:string,timestamp:bigint,_page:int>').inputString).toBe(
      'struct<date:string,timestamp:bigint,_page:int>',
    );
  });

  it('normalises case and spaces', () => {
    expect(parseGlueType('ARRAY< STRUCT<Key: STRING, value:string> >').inputString).toBe(
      'array<struct<Key:string,value:string>>',
    );
    expect(parseGlueType('map<string,int>').inputString).toBe('map<string,int>');
  });

  it.each([
    ['varchar', 'unsupported type "varchar" at offset 0'],
    ['array<string', 'expected ">" at offset 12'],
    ['array<>', 'expected a type name at offset 6'],
    ['struct<a:string,>', 'expected a struct field name at offset 16'],
    ['struct<a:string,a:int>', 'duplicate struct field "a"'],
    ['struct<a string>', 'expected ":" at offset 9'],
    ['string>', 'unexpected trailing text at offset 6'],
    ['', 'expected a type name at offset 0'],
  ])('rejects %j', (text, problem) => {
    expect(() => parseGlueType(text)).toThrowError(GlueTypeError);
    expect(() => parseGlueType(text)).toThrowError(problem);
  });

  it('round-trips every lake column type', () => {
    for (const column of [...CHAT_COLUMNS, ...PARTITION_KEYS]) {
      expect(parseGlueType(column.glueType).inputString, column.name).toBe(column.glueType);
    }
  });
});
