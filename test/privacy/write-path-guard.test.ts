import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAT_TABLE_PREFIXES } from '#lake/lake-layout.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';

const root = new URL('../..', import.meta.url).pathname;
const sourceFiles = readdirSync(join(root, 'functions/sources'), { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => join(entry.parentPath, entry.name));

describe('privacy covers every chat write and every chat table', () => {
  it('every prefix a source writes chat files under is erased and expired (CHAT_TABLE_PREFIXES)', () => {
    for (const source of Object.values(SOURCE_INFO)) {
      for (const prefix of source.prefixes) expect(CHAT_TABLE_PREFIXES, `${source.name} ${prefix}`).toContain(prefix);
    }
  });

  it('a source that encodes chat files drops erased visitors and redacts through its WritePrivacy', () => {
    const writers = sourceFiles.filter((file) => readFileSync(file, 'utf8').includes('encodeNdjsonGzip('));
    expect(writers.length).toBeGreaterThan(0);
    for (const file of writers) {
      const text = readFileSync(file, 'utf8');
      expect(text, relative(root, file)).toMatch(/privacy\.keep\(/);
      expect(text, relative(root, file)).toMatch(/privacy\.redact/);
    }
  });
});
