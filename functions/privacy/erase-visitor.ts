import PQueue from 'p-queue';
import type { DroppedChatsRow } from '#lake/dropped-chats-table.ts';
import { CHAT_TABLE_PREFIXES, CHATS_PREFIX, droppedByEraseKey } from '#lake/lake-layout.ts';
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
  const tables = options.tables ?? CHAT_TABLE_PREFIXES;
  const each = <T>(items: readonly T[], work: (item: T) => Promise<void>) =>
    Promise.all(items.map((item) => queue.add(async () => (stopped() ? undefined : work(item)))));
  const chatFiles = async () =>
    (await Promise.all(tables.map((table) => sink.list(table)))).flat().filter((key) => key.endsWith('.json.gz'));
  const oldVersions = async (versions: NoncurrentVersions) =>
    (await Promise.all(tables.map((table) => versions.list(table))))
      .flat()
      .filter((version) => version.key.endsWith('.json.gz'));

  // One conversation is a row in each table (v3.6: the raw entry and the chat mapped from it), and
  // a derived row may lack the identifier (the customer's e-mail is not mapped): with more than
  // one table, a first pass finds the conversations the visitor is in, current and noncurrent.
  const conversations = new Set<string>();
  const collect = async (body: Uint8Array) => {
    await dropNdjsonGzipRecords(body, (record) => {
      const id = matches(record) ? conversationId(record) : undefined;
      if (id !== undefined) conversations.add(id);
      return false;
    });
  };
  if (tables.length > 1) {
    await each(await chatFiles(), async (key) => {
      const body = await sink.get(key);
      if (body) await collect(body);
    });
    if (options.versions) {
      const versions = options.versions;
      await each(await oldVersions(versions), async (version) => collect(await versions.get(version)));
    }
  }
  const erases = (record: Record<string, unknown>) =>
    matches(record) || (conversations.size > 0 && conversations.has(conversationId(record) ?? ''));

  // Tables in CHAT_TABLE_PREFIXES order, derived tables before the raw one: an interrupted erase
  // leaves the rows that carry the identifier for the next run to find.
  for (const table of tables) {
    const keys = (await sink.list(table)).filter((key) => key.endsWith('.json.gz'));
    await each(keys, async (key) => {
      const body = await sink.get(key);
      if (!body) return; // deleted since it was listed
      result.filesScanned += 1;
      const byRun = new Map<string, number>();
      const rewritten = await dropNdjsonGzipRecords(body, (chat) => {
        const erased = erases(chat);
        if (erased) byRun.set(String(chat['_run_id']), (byRun.get(String(chat['_run_id'])) ?? 0) + 1);
        return erased;
      });
      if (rewritten.dropped === 0) return;
      if (record && key.startsWith(CHATS_PREFIX)) await recordRemoved(key, byRun, record.hash);
      if (!dryRun) {
        if (rewritten.body) await sink.put(key, rewritten.body, 'ndjson-gzip');
        else await sink.delete([key]);
      }
      result.chats += rewritten.dropped;
      result.files.push(key);
    });
  }

  /** Before the file changes, so an interrupted erase never leaves removed chats unaccounted for. */
  async function recordRemoved(key: string, byRun: ReadonlyMap<string, number>, erasure: string): Promise<void> {
    const day = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
    if (!day) return;
    for (const [runId, chats] of byRun) {
      const row: DroppedChatsRow = { runId, day, attempt: null, unit: key, chats, recordedAt: now().toISOString() };
      await sink.put(droppedByEraseKey(runId, day, erasure, key), Buffer.from(JSON.stringify(row)), 'json');
    }
  }

  // After the rewrites: the versions they just made noncurrent are among those read here.
  if (options.versions && !stopped()) {
    const versions = options.versions;
    const holding: ObjectVersion[] = [];
    await each(await oldVersions(versions), async (version) => {
      const { dropped } = await dropNdjsonGzipRecords(await versions.get(version), erases);
      if (dropped > 0) holding.push(version);
    });
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

/** The conversation a row stores: a chats row's `id` (v3.6: the thread id), a raw v3.6 entry's `thread.id`. */
function conversationId(record: Record<string, unknown>): string | undefined {
  const thread = record['thread'];
  if (typeof thread === 'object' && thread !== null && typeof (thread as { id?: unknown }).id === 'string') {
    return (thread as { id: string }).id;
  }
  return typeof record['id'] === 'string' ? record['id'] : undefined;
}
