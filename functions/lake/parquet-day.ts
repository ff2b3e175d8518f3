/**
 * A compacted day of one table as a Parquet file (ZSTD), written and read with DuckDB: the table's
 * columns typed exactly as the JSON readers type them (the same JSON structure, CHAT_SCHEMA or
 * THREAD_SCHEMA), plus `_raw_json`, the stored line verbatim. The typed columns are what queries
 * read (a column-subset query reads a few of them); `_raw_json` keeps every field the API sent,
 * including fields the table does not declare, so compacting loses nothing, and lets an erase
 * judge a row by the same record the JSON files hold.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { duckdbJsonStructure, type LakeField, quoteIdent } from './chat-columns.ts';
import { MONTH_FILE_DAY_COLUMN, RAW_JSON_COLUMN } from './compacted-columns.ts';

export { RAW_JSON_COLUMN, SCHEMA_OF_TABLE } from './compacted-columns.ts';

/** A stored line and its day (`dt`; empty when read from a day file, whose day is its partition). */
export interface DayLine {
  line: string;
  dt: string;
}

/** Rows per Parquet row group: a day is one or a few groups. */
const ROW_GROUP_SIZE = 100_000;

/** One DuckDB in memory and a scratch folder for the Parquet files it writes and reads. */
export class ParquetWorkbench {
  /** One statement at a time on the one connection, however many callers are in flight. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly scratch: string,
  ) {}

  static async open(): Promise<ParquetWorkbench> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const scratch = await mkdtemp(path.join(tmpdir(), 'lake-parquet-'));
    return new ParquetWorkbench(instance, connection, scratch);
  }

  /**
   * A Parquet file (ZSTD) of `lines` in `schema`'s columns plus `_raw_json`, in the order given;
   * with `days` (a compacted month: one day per line), a `dt` column too, rows ordered by day.
   */
  write(lines: readonly string[], schema: readonly LakeField[], days?: readonly string[]): Promise<Uint8Array> {
    return this.serial(() => this.writeNow(lines, schema, days));
  }

  /** The stored JSON lines of a Parquet file this module wrote, in file order. */
  lines(body: Uint8Array): Promise<string[]> {
    return this.serial(async () => (await this.rowsNow(body, false)).map((row) => row.line));
  }

  /** The stored lines of a compacted month file with the day (`dt`) of each. */
  linesWithDays(body: Uint8Array): Promise<DayLine[]> {
    return this.serial(() => this.rowsNow(body, true));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async writeNow(
    lines: readonly string[],
    schema: readonly LakeField[],
    days: readonly string[] | undefined,
  ): Promise<Uint8Array> {
    if (days && days.length !== lines.length) throw new Error('one day per line');
    const table = `lines_${randomBytes(4).toString('hex')}`;
    const file = this.scratchFile('parquet');
    await this.connection.run(`CREATE TABLE ${table} (n BIGINT, line VARCHAR, dt VARCHAR)`);
    try {
      const appender = await this.connection.createAppender(table);
      lines.forEach((line, n) => {
        appender.appendBigInt(BigInt(n));
        appender.appendVarchar(line);
        if (days) appender.appendVarchar(days[n]!);
        else appender.appendNull();
        appender.endRow();
      });
      appender.closeSync();
      const columns = schema.map((f) => `s.${quoteIdent(f.name)} AS ${quoteIdent(f.name)}`).join(', ');
      const structure = duckdbJsonStructure(schema).replaceAll("'", "''");
      await this.connection.run(`COPY (
  SELECT ${columns}, line AS ${RAW_JSON_COLUMN}${days ? `, dt AS ${MONTH_FILE_DAY_COLUMN}` : ''}
  FROM (SELECT n, line, dt, json_transform(line, '${structure}') AS s FROM ${table})
  ORDER BY ${days ? 'dt, n' : 'n'}
) TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
      return await readFile(file);
    } finally {
      await this.connection.run(`DROP TABLE IF EXISTS ${table}`);
      await rm(file, { force: true });
    }
  }

  private async rowsNow(body: Uint8Array, withDays: boolean): Promise<DayLine[]> {
    const file = this.scratchFile('parquet');
    await writeFile(file, body);
    try {
      const day = withDays ? MONTH_FILE_DAY_COLUMN : 'NULL';
      const reader = await this.connection.runAndReadAll(
        `SELECT ${RAW_JSON_COLUMN}, ${day} FROM read_parquet('${file.replaceAll("'", "''")}')`,
      );
      const [lines = [], days = []] = reader.getColumnsJS();
      return lines.map((line, i) => ({ line: String(line), dt: withDays ? String(days[i]) : '' }));
    } finally {
      await rm(file, { force: true });
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.scratch, { recursive: true, force: true });
  }

  private scratchFile(extension: string): string {
    return path.join(this.scratch, `${randomBytes(8).toString('hex')}.${extension}`);
  }
}
