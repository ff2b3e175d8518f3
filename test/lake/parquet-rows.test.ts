import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParquetWorkbench, SCHEMA_OF_TABLE } from '#lake/parquet-day.ts';
import { parquetRowCount } from '#lake/parquet-rows.ts';
import { ChatStore } from '#simulator/index.ts';

// The compactor skips staged files without rows (what an UNLOAD of an empty result writes is not
// documented): the count comes from the footer, read here from files DuckDB writes.
let dir: string;
let db: DuckDBInstance;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'parquet-rows-'));
  db = await DuckDBInstance.create(':memory:');
});
afterAll(() => db.closeSync());

async function parquetOf(select: string, name: string, options = 'COMPRESSION zstd'): Promise<Uint8Array> {
  const c = await db.connect();
  try {
    await c.run(`COPY (${select}) TO '${join(dir, name)}' (FORMAT parquet, ${options})`);
  } finally {
    c.closeSync();
  }
  return readFile(join(dir, name));
}

describe('parquetRowCount', () => {
  it('reads the row count from the footer: none, a few, many over several row groups', async () => {
    expect(parquetRowCount(await parquetOf("SELECT 1 AS n, 'a' AS s WHERE false", 'none.parquet'))).toBe(0);
    expect(parquetRowCount(await parquetOf('SELECT range AS n FROM range(3)', 'three.parquet'))).toBe(3);
    const many = await parquetOf(
      "SELECT range AS n, range::VARCHAR AS s, [range, range] AS l, {'a': range} AS r FROM range(300000)",
      'many.parquet',
      'COMPRESSION zstd, ROW_GROUP_SIZE 100000',
    );
    expect(parquetRowCount(many)).toBe(300_000);
  });

  it('reads a compacted chats file (nested lists and structs in its schema), with and without rows', async () => {
    const chats = new ChatStore({ seed: 3, from: '2024-03-01', to: '2024-03-01', chatsPerDay: () => 12 }).dayChats(
      '2024-03-01',
    );
    const bench = await ParquetWorkbench.open();
    try {
      const lines = chats.map((chat) => JSON.stringify({ ...chat, _run_id: 'r', _archived_at: 't', _page: 1 }));
      expect(parquetRowCount(await bench.write(lines, SCHEMA_OF_TABLE['chats/']!))).toBe(12);
      expect(parquetRowCount(await bench.write([], SCHEMA_OF_TABLE['chats/']!))).toBe(0);
    } finally {
      await bench.close();
    }
  });

  it('refuses what is not a Parquet file', () => {
    expect(() => parquetRowCount(Buffer.from('not parquet at all'))).toThrow('not a Parquet file');
  });
});
