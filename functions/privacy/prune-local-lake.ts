import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CHAT_TABLE_PREFIXES } from '#lake/lake-layout.ts';

export interface PruneOptions {
  /** The lake folder. */
  dir: string;
  olderThanDays: number;
  dryRun?: boolean;
  now?: () => Date;
}

export interface PruneResult {
  /** Chat files deleted (or, on a dry run, that would be), as lake keys. */
  files: string[];
  bytes: number;
}

/**
 * The local twin of the bucket's `retentionDays` lifecycle rule: deletes every chat file (each
 * chat table prefix) written more than `olderThanDays` days ago, by its modification time, as S3
 * expires an object by its creation time. A re-archived day is a new file and starts again.
 * Partition folders left empty are removed. Manifests (erasure records included) stay.
 */
export async function pruneLocalLake(options: PruneOptions): Promise<PruneResult> {
  const cutoff = (options.now?.() ?? new Date()).getTime() - options.olderThanDays * 86_400_000;
  const result: PruneResult = { files: [], bytes: 0 };
  for (const prefix of CHAT_TABLE_PREFIXES) {
    const table = join(options.dir, prefix);
    let entries;
    try {
      entries = await readdir(table, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith('.json.gz')) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path);
      if (info.mtimeMs >= cutoff) continue;
      if (!options.dryRun) await rm(path, { force: true });
      result.files.push(relative(options.dir, path).split(sep).join('/'));
      result.bytes += info.size;
    }
    if (!options.dryRun) await removeEmptyFolders(table);
  }
  result.files.sort();
  return result;
}

async function removeEmptyFolders(table: string): Promise<void> {
  for (const entry of await readdir(table, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const folder = join(table, entry.name);
    if ((await readdir(folder)).length === 0) await rmdir(folder);
  }
}
