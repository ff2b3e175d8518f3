import { compactedTablePrefix } from '#lake/lake-layout.ts';
import { type ParquetWorkbench, SCHEMA_OF_TABLE } from '#lake/parquet-day.ts';
import type { ConditionalSink, Rewrite } from './rewrite-without.ts';

/** Tries of one file's read-rewrite-swap before giving up: each lost try means another writer changed it. */
const SWAP_TRIES = 20;

/** The records a compacted (Parquet) day file holds, from its stored lines. */
export async function parquetRecords(
  workbench: ParquetWorkbench,
  body: Uint8Array,
): Promise<Record<string, unknown>[]> {
  return (await workbench.lines(body)).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * rewriteWithout for a compacted day file: the file is derived again from its stored lines
 * without the records `drops` selects (or deleted when none is left), as a compare-and-swap on
 * the version read, so a compaction or another erase that changed it meanwhile is never undone.
 */
export async function rewriteParquetWithout(
  sink: ConditionalSink,
  workbench: ParquetWorkbench,
  key: string,
  drops: (record: Record<string, unknown>) => boolean,
  beforeSwap?: (rewrite: Rewrite) => Promise<void>,
): Promise<Rewrite> {
  const schema = Object.entries(SCHEMA_OF_TABLE).find(([table]) => key.startsWith(compactedTablePrefix(table)))?.[1];
  if (!schema) throw new Error(`${key} is not a compacted chat table file`);
  for (let tries = 0; tries < SWAP_TRIES; tries += 1) {
    const current = await sink.getVersioned(key);
    const byRun = new Map<string, number>();
    if (!current) return { dropped: 0, byRun };
    const kept: string[] = [];
    for (const line of await workbench.lines(current.body)) {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (!drops(record)) {
        kept.push(line);
        continue;
      }
      const run = String(record['_run_id']);
      byRun.set(run, (byRun.get(run) ?? 0) + 1);
    }
    const dropped = [...byRun.values()].reduce((sum, n) => sum + n, 0);
    if (dropped === 0) return { dropped: 0, byRun };
    await beforeSwap?.({ dropped, byRun });
    const body = kept.length > 0 ? await workbench.write(kept, schema) : undefined;
    if (await sink.replaceIfUnchanged(key, current.version, body, 'parquet')) return { dropped, byRun };
  }
  throw new Error(`lake file ${key} kept changing under concurrent writers (${SWAP_TRIES} tries)`);
}
