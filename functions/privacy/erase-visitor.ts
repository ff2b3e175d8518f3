import PQueue from 'p-queue';
import { CHAT_TABLE_PREFIXES } from '#lake/lake-layout.ts';
import { dropNdjsonGzipRecords } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import {
  type ErasureRecord,
  type ErasureRun,
  ensureSalt,
  erasureRecordKey,
  identifierHash,
  readErasureRecord,
  writeErasureRecord,
} from './erasure-records.ts';
import type { NoncurrentVersions, ObjectVersion } from './object-versions.ts';
import { recordHasIdentifier, type VisitorIdentifier } from './visitor-identifiers.ts';

export interface EraseOptions {
  sink: LakeSink;
  target: VisitorIdentifier;
  /** Count what would be erased; write, delete and record nothing. */
  dryRun?: boolean;
  /** The bucket's noncurrent versions (S3); a folder lake has none. */
  versions?: NoncurrentVersions;
  /** Table prefixes to erase from; every chat table by default. */
  tables?: readonly string[];
  concurrency?: number;
  /** Aborting stops before the next file; files in flight finish whole. Running again completes the erase. */
  signal?: AbortSignal;
  now?: () => Date;
}

export interface EraseResult {
  dryRun: boolean;
  /** Chats removed (or, on a dry run, that would be) from current files. */
  chats: number;
  /** Current files rewritten or deleted (or that would be). */
  files: string[];
  filesScanned: number;
  /** Noncurrent versions holding the visitor's chats, deleted (or that would be). */
  versions: number;
  /** The erasure record written; absent on a dry run. */
  recordKey?: string;
  /** False when the erase was interrupted; running it again completes it. */
  complete: boolean;
}

/**
 * Removes every chat of one visitor from the lake: each current file holding one is rewritten
 * without it (atomically, the other records byte-identical) or deleted when nothing is left,
 * then every noncurrent version holding one is deleted. The erasure record goes first, so every
 * write that starts from then on drops the visitor's chats too (see erased-visitors.ts).
 */
export async function eraseVisitor(options: EraseOptions): Promise<EraseResult> {
  const { sink, target } = options;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? (() => new Date());
  const queue = new PQueue({ concurrency: options.concurrency ?? 8 });
  const matches = (record: Record<string, unknown>) => recordHasIdentifier(record, target);
  const result: EraseResult = { dryRun, chats: 0, files: [], filesScanned: 0, versions: 0, complete: false };

  let record: ErasureRecord | undefined;
  let run: ErasureRun | undefined;
  if (!dryRun) {
    const hash = identifierHash(await ensureSalt(sink), target);
    record = (await readErasureRecord(sink, erasureRecordKey(target.kind, hash))) ?? {
      v: 1,
      kind: target.kind,
      hash,
      runs: [],
    };
    run = { at: now().toISOString(), chats: 0, files: [], versionsDeleted: 0, complete: false };
    record.runs.push(run);
    result.recordKey = await writeErasureRecord(sink, record);
  }

  const stopped = () => options.signal?.aborted === true;
  for (const table of options.tables ?? CHAT_TABLE_PREFIXES) {
    const keys = (await sink.list(table)).filter((key) => key.endsWith('.json.gz'));
    await Promise.all(
      keys.map((key) =>
        queue.add(async () => {
          if (stopped()) return;
          const body = await sink.get(key);
          if (!body) return; // deleted since it was listed
          result.filesScanned += 1;
          const rewritten = await dropNdjsonGzipRecords(body, matches);
          if (rewritten.dropped === 0) return;
          if (!dryRun) {
            if (rewritten.body) await sink.put(key, rewritten.body, 'ndjson-gzip');
            else await sink.delete([key]);
          }
          result.chats += rewritten.dropped;
          result.files.push(key);
        }),
      ),
    );
  }

  // After the rewrites: the versions they just made noncurrent are among those read here.
  if (options.versions && !stopped()) {
    const versions = options.versions;
    const holding: ObjectVersion[] = [];
    for (const table of options.tables ?? CHAT_TABLE_PREFIXES) {
      const candidates = (await versions.list(table)).filter((version) => version.key.endsWith('.json.gz'));
      await Promise.all(
        candidates.map((version) =>
          queue.add(async () => {
            if (stopped()) return;
            const { dropped } = await dropNdjsonGzipRecords(await versions.get(version), matches);
            if (dropped > 0) holding.push(version);
          }),
        ),
      );
    }
    if (dryRun) result.versions = holding.length;
    else if (!stopped()) {
      await versions.delete(holding);
      result.versions = holding.length;
    }
  }

  result.files.sort();
  result.complete = !stopped();
  if (record && run) {
    Object.assign(run, {
      chats: result.chats,
      files: result.files,
      versionsDeleted: result.versions,
      complete: result.complete,
    });
    await writeErasureRecord(sink, record);
  }
  return result;
}
