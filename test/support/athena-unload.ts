/**
 * Athena's part of compaction, played by DuckDB (there is no Athena here): the Glue tables of a
 * compacted table as DuckDB views under the database's name (`<table>_json` with `"$path"`,
 * `<table>_json_lines` one string per stored line, the compacted day and month tables over the
 * Parquet files), each UNLOAD's SELECT run over them and written where UNLOAD would, and one night
 * of the compaction state machine (plan, per unit prepare → UNLOADs → commit).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CHAT_FILES_TIER, COMPACTED_TABLES, type CompactedTable } from '#lake/athena-compaction-sql.ts';
import { duckdbColumnsStruct, type LakeField, quoteIdent, toColumn } from '#lake/chat-columns.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import {
  type CompactionSettings,
  commitDay,
  type PreparedDay,
  planCompaction,
  prepareDay,
} from '#pipeline/athena-compaction.ts';
import { listFiles } from './lake-reader.ts';

/** What the Glue tables of `t` read, as DuckDB views in schema `database`. */
export async function glueTablesInDuckDb(lake: string, t: CompactedTable, database: string) {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const sql = (text: string) => text.replaceAll("'", "''");
  const glob = (prefix: string, ext: string) => `'${sql(`${lake}/${prefix}dt=*/*${ext}`)}'`;
  const has = async (prefix: string, ext: string) =>
    (await listFiles(lake)).some((f) => f.startsWith(prefix) && f.endsWith(ext));
  // chat_files: one plain JSON object per file; the chat tables: gzip NDJSON.
  const [ext, compression] = t.fileRows ? ['.json', 'uncompressed'] : ['.json.gz', 'gzip'];
  const columns = t.schema.map((f: LakeField) => quoteIdent(f.name)).join(', ');
  const typed = `{${Object.entries(duckdbColumnsStruct(t.schema))
    .map(([name, type]) => `'${sql(name)}': '${sql(type)}'`)
    .join(', ')}}`;
  const empty = (extra: string) =>
    `SELECT ${t.schema
      .map(toColumn)
      .map((col) => `CAST(NULL AS ${col.duckdbType}) AS ${quoteIdent(col.name)}`)
      .join(', ')}${extra}, CAST(NULL AS VARCHAR) AS dt WHERE false`;
  await c.run(`CREATE SCHEMA ${quoteIdent(database)}`);
  await c.run('CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)');
  const json = await has(t.prefix, ext);
  await c.run(
    `CREATE VIEW ${database}.${t.jsonTable} AS ${
      json
        ? `SELECT ${columns}, dt, filename AS "$path" FROM read_json(${glob(t.prefix, ext)}, format = 'newline_delimited', compression = '${compression}', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'}, columns = ${typed}, filename = true)`
        : empty(', CAST(NULL AS VARCHAR) AS "$path"')
    }`,
  );
  await c.run(
    `CREATE VIEW ${database}.${t.linesTable} AS ${
      json
        ? `SELECT line, dt, filename AS "$path" FROM read_csv(${glob(t.prefix, ext)}, columns = {'line': 'VARCHAR'}, delim = '\u0001', quote = '', escape = '', header = false, compression = '${compression}', hive_partitioning = true, hive_types = {'dt': 'VARCHAR'}, filename = true)`
        : `SELECT CAST(NULL AS VARCHAR) AS line, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS "$path" WHERE false`
    }`,
  );
  const compacted = `compacted/${t.prefix}`;
  await c.run(
    `CREATE VIEW ${database}.${t.compactedTable} AS ${
      (await has(`${compacted}dt=`, '.parquet'))
        ? `SELECT *, dt FROM read_parquet(${glob(compacted, '.parquet')}, hive_partitioning = true, hive_types = {'dt': 'VARCHAR'})`
        : empty(', CAST(NULL AS VARCHAR) AS _raw_json')
    }`,
  );
  const months = `'${sql(`${lake}/${compacted}month=*/*.parquet`)}'`;
  await c.run(
    `CREATE VIEW ${database}.${t.compactedMonthsTable} AS ${
      (await listFiles(lake)).some((f) => f.startsWith(`${compacted}month=`))
        ? `SELECT * FROM read_parquet(${months}, hive_partitioning = true, hive_types = {'month': 'VARCHAR'})`
        : `SELECT *, CAST(NULL AS VARCHAR) AS month FROM (${empty(', CAST(NULL AS VARCHAR) AS _raw_json')})`
    }`,
  );
  const close = () => {
    c.closeSync();
    db.closeSync();
  };
  return { c, close };
}

export const UNLOAD =
  /^UNLOAD \(\n([\s\S]*)\n\) TO '(s3:\/\/[^']+)'\nWITH \(format = 'PARQUET', compression = 'ZSTD'\)$/;

/**
 * Athena's part: each UNLOAD's SELECT, run in DuckDB, written as Parquet into its staging prefix.
 * UNLOAD writes "multiple files in parallel", each sorted, not sorted relative to each other
 * (Athena's UNLOAD page): with `files` above 1 the result is dealt out over that many files
 * (row n into file n mod files), each in the query's order. A result without rows is still
 * written, as a Parquet file without rows (Athena documents nothing for an empty result).
 */
let queries = 0;
export async function unloadInDuckDb(lake: string, prepared: PreparedDay, settings: CompactionSettings, files = 1) {
  for (const unload of prepared.unloads) {
    const [, select, location] = UNLOAD.exec(unload.sql)!;
    const folder = join(lake, location!.slice(`s3://${settings.bucket}/`.length));
    await mkdir(folder, { recursive: true });
    const t = [...COMPACTED_TABLES, CHAT_FILES_TIER].find((table) => table.prefix === unload.table)!;
    const duck = await glueTablesInDuckDb(lake, t, settings.database);
    queries += 1; // Athena names a query's files after its id
    try {
      await duck.c.run(`CREATE TEMP TABLE unloaded AS SELECT row_number() OVER () AS unload_row, * FROM (${select})`);
      for (let file = 0; file < files; file += 1) {
        const name = `20260310_000000_${String(queries).padStart(5, '0')}_abcde_${file}`;
        await duck.c.run(
          `COPY (SELECT * EXCLUDE (unload_row) FROM unloaded WHERE unload_row % ${files} = ${file} ORDER BY unload_row) TO '${join(folder, name)}' (FORMAT parquet, COMPRESSION zstd)`,
        );
      }
    } finally {
      duck.close();
    }
  }
}

/** One night of the state machine: plan, then per unit prepare → UNLOADs (each into `files` files) → commit. */
export async function compactionNight(
  lake: string,
  sink: LakeSink,
  now: Date,
  settings: CompactionSettings,
  files = 1,
) {
  const plan = await planCompaction(sink, settings, now);
  const committed = [];
  for (const day of plan.days) {
    const prepared = await prepareDay(sink, settings, day, now);
    if ('skipped' in prepared) continue;
    await unloadInDuckDb(lake, prepared, settings, files);
    committed.push(await commitDay(sink, settings, prepared));
  }
  return { plan, committed };
}
