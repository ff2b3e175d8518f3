import { compactedTablePrefix, monthOfKey } from '#lake/lake-layout.ts';
import { ParquetWorkbench, SCHEMA_OF_TABLE } from '#lake/parquet-day.ts';
import type { ConditionalSink, Rewrite } from './rewrite-without.ts';

/** Tries of one file's read-rewrite-swap before giving up: each lost try means another writer changed it. */
const SWAP_TRIES = 20;

/** A record of a compacted file and its day (from a month file's `dt` column; undefined in a day file). */
export interface DayRecord {
  record: Record<string, unknown>;
  day: string | undefined;
}

/** The records a compacted (Parquet) day or month file holds, from its stored lines, with their days. */
export async function parquetRecords(workbench: ParquetWorkbench, key: string, body: Uint8Array): Promise<DayRecord[]> {
  const rows = monthOfKey(key)
    ? await workbench.linesWithDays(body)
    : (await workbench.lines(body)).map((line) => ({ line, dt: undefined }));
  return rows.map(({ line, dt }) => ({ record: JSON.parse(line) as Record<string, unknown>, day: dt }));
}

/**
 * parquetRecords with a DuckDB of its own, opened for the one file: for a caller that reads one
 * rarely (a files task over a compacted day, archive-files.ts) and keeps no workbench open.
 */
export async function readCompactedRecords(key: string, body: Uint8Array): Promise<DayRecord[]> {
  const workbench = await ParquetWorkbench.open();
  try {
    return await parquetRecords(workbench, key, body);
  } finally {
    await workbench.close();
  }
}

/**
 * rewriteWithout for a compacted day or month file: the file is derived again from its stored
 * lines (and a month file's days) without the records `drops` selects (or deleted when none is
 * left), as a compare-and-swap on the version read, so a compaction or another erase that changed
 * it meanwhile is never undone. A month file's drops are counted per day (`byDay`).
 */
export async function rewriteParquetWithout(
  sink: ConditionalSink,
  workbench: ParquetWorkbench,
  key: string,
  drops: (record: Record<string, unknown>, day?: string) => boolean,
  beforeSwap?: (rewrite: Rewrite) => Promise<void>,
): Promise<Rewrite> {
  const schema = Object.entries(SCHEMA_OF_TABLE).find(([table]) => key.startsWith(compactedTablePrefix(table)))?.[1];
  if (!schema) throw new Error(`${key} is not a compacted chat table file`);
  const month = monthOfKey(key) !== undefined;
  for (let tries = 0; tries < SWAP_TRIES; tries += 1) {
    const current = await sink.getVersioned(key);
    const byRun = new Map<string, number>();
    const byDay = new Map<string, Map<string, number>>();
    if (!current) return { dropped: 0, byRun };
    const kept: string[] = [];
    const keptDays: string[] = [];
    const rows = month
      ? await workbench.linesWithDays(current.body)
      : (await workbench.lines(current.body)).map((line) => ({ line, dt: undefined }));
    for (const { line, dt } of rows) {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (!drops(record, dt)) {
        kept.push(line);
        if (dt !== undefined) keptDays.push(dt);
        continue;
      }
      const run = String(record['_run_id']);
      byRun.set(run, (byRun.get(run) ?? 0) + 1);
      if (dt !== undefined) {
        const runs = byDay.get(dt) ?? new Map<string, number>();
        runs.set(run, (runs.get(run) ?? 0) + 1);
        byDay.set(dt, runs);
      }
    }
    const dropped = [...byRun.values()].reduce((sum, n) => sum + n, 0);
    const rewrite: Rewrite = month ? { dropped, byRun, byDay } : { dropped, byRun };
    if (dropped === 0) return rewrite;
    await beforeSwap?.(rewrite);
    const body = kept.length > 0 ? await workbench.write(kept, schema, month ? keptDays : undefined) : undefined;
    if (await sink.replaceIfUnchanged(key, current.version, body, 'parquet')) return rewrite;
  }
  throw new Error(`lake file ${key} kept changing under concurrent writers (${SWAP_TRIES} tries)`);
}
