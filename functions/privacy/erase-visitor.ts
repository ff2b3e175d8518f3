import PQueue from 'p-queue';
import {
  CHAT_FILES_PREFIX,
  CHAT_TABLE_PREFIXES,
  chatFileRowsPrefix,
  chatFilesFolder,
  compactedTablePrefix,
  monthPartitionPrefix,
  partitionPrefix,
} from '#lake/lake-layout.ts';
import { dropNdjsonGzipRecords } from '#lake/ndjson-gzip.ts';
import { ParquetWorkbench } from '#lake/parquet-day.ts';
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
import { parquetRecords, rewriteParquetWithout } from './rewrite-parquet-without.ts';
import { canSwap, conversationId, type Rewrite, recordErasedFromFile, rewriteWithout } from './rewrite-without.ts';
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
  /** Chats removed (or, on a dry run, that would be) from current files: rows of the first table (`chats`). */
  chats: number;
  /** Rows removed from every table: with v3.6 one conversation is a row in `chats` and one in `chat_threads`. */
  rows: number;
  /** Current files rewritten or deleted (or that would be). */
  files: string[];
  filesScanned: number;
  /** Noncurrent versions holding the visitor's chats, deleted (or that would be). */
  versions: number;
  /**
   * Attachments of the erased chats: stored files and their chat_files rows (files/, chat-files/)
   * deleted (or that would be), noncurrent versions of them included.
   */
  attachments: number;
  /** Leftovers of crashed writers deleted first (`*.partial` files of a folder lake; they may hold chats). */
  leftovers: string[];
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
  const result: EraseResult = {
    dryRun,
    chats: 0,
    rows: 0,
    files: [],
    filesScanned: 0,
    versions: 0,
    attachments: 0,
    leftovers: [],
    complete: false,
  };
  if (!dryRun && !canSwap(sink))
    throw new Error(`erase needs a lake that can rewrite files conditionally (${sink.location})`);

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
  if (!dryRun && sink.removeLeftovers) result.leftovers = await sink.removeLeftovers(tables);
  const each = <T>(items: readonly T[], work: (item: T) => Promise<void>) =>
    Promise.all(items.map((item) => queue.add(async () => (stopped() ? undefined : work(item)))));
  // A table's files: its JSON files and its compacted days (Parquet, compaction.ts), erased alike.
  const isParquet = (key: string) => key.endsWith('.parquet');
  const isChatFile = (key: string) => key.endsWith('.json.gz') || isParquet(key);
  const withCompacted = (table: string) => [table, compactedTablePrefix(table)];
  const filesOf = async (table: string) =>
    (await Promise.all(withCompacted(table).map((prefix) => sink.list(prefix)))).flat().filter(isChatFile);
  const chatFiles = async () => (await Promise.all(tables.map(filesOf))).flat();
  const oldVersions = async (versions: NoncurrentVersions) =>
    (await Promise.all(tables.flatMap(withCompacted).map((prefix) => versions.list(prefix))))
      .flat()
      .filter((version) => isChatFile(version.key));
  // DuckDB reads and writes the Parquet files; opened only when the lake has some.
  let bench: Promise<ParquetWorkbench> | undefined;
  const workbench = () => {
    bench ??= ParquetWorkbench.open();
    return bench;
  };
  /** Rows of a chat file `drops` selects (without changing anything). */
  const countDropped = async (
    key: string,
    body: Uint8Array,
    drops: (record: Record<string, unknown>, day?: string) => boolean,
  ) =>
    isParquet(key)
      ? (await parquetRecords(await workbench(), key, body)).filter(({ record, day }) => drops(record, day)).length
      : (await dropNdjsonGzipRecords(body, (record) => drops(record))).dropped;

  // One conversation is a row in each table (v3.6: the raw entry and the chat mapped from it), and
  // a derived row may lack the identifier (the customer's e-mail is not mapped): with more than
  // one table, a first pass finds the conversations the visitor is in, current and noncurrent.
  const conversations = new Set<string>();
  const collect = async (key: string, body: Uint8Array) => {
    await countDropped(key, body, (record) => {
      const id = matches(record) ? conversationId(record) : undefined;
      if (id !== undefined) conversations.add(id);
      return false;
    });
  };
  /** `<day>/<conversation>` of every erased chat: its attachments (files/, chat-files/) are deleted after the rewrites. */
  const erasedChats = new Set<string>();
  try {
    if (tables.length > 1) {
      await each(await chatFiles(), async (key) => {
        const body = await sink.get(key);
        if (body) await collect(key, body);
      });
      if (options.versions) {
        const versions = options.versions;
        await each(await oldVersions(versions), async (version) => collect(version.key, await versions.get(version)));
      }
    }
    const erases = (record: Record<string, unknown>) =>
      matches(record) || (conversations.size > 0 && conversations.has(conversationId(record) ?? ''));
    /** Notes `<day>/<conversation>` of every erased chat, current or noncurrent: their attachments go too. */
    const erasesIn = (key: string) => {
      const dayOfKey = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
      return (row: Record<string, unknown>, dayOfRow?: string) => {
        const day = dayOfRow ?? dayOfKey;
        const erased = erases(row);
        const id = erased && day ? conversationId(row) : undefined;
        if (id !== undefined) erasedChats.add(`${day}/${id}`);
        return erased;
      };
    };

    // Tables in CHAT_TABLE_PREFIXES order, derived tables before the raw one: an interrupted erase
    // leaves the rows that carry the identifier for the next run to find. Each file is rewritten as
    // a compare-and-swap (rewrite-without.ts): a concurrent erase or archive write is never undone.
    for (const table of tables) {
      const keys = await filesOf(table);
      await each(keys, async (key) => {
        result.filesScanned += 1;
        let dropped: number;
        if (dryRun || !canSwap(sink)) {
          const body = await sink.get(key);
          dropped = body ? await countDropped(key, body, erasesIn(key)) : 0;
        } else {
          const hash = record?.hash;
          // Before the file changes, so an interrupted erase never leaves removed chats unaccounted for.
          const recordDrops = async ({ byRun, byDay }: Rewrite) => {
            if (!hash) return;
            if (!byDay) await recordErasedFromFile(sink, key, byRun, hash, now);
            for (const [day, runs] of byDay ?? []) await recordErasedFromFile(sink, key, runs, hash, now, day);
          };
          ({ dropped } = isParquet(key)
            ? await rewriteParquetWithout(sink, await workbench(), key, erasesIn(key), recordDrops)
            : await rewriteWithout(sink, key, erasesIn(key), recordDrops));
        }
        if (dropped === 0) return;
        if (table === tables[0]) result.chats += dropped;
        result.rows += dropped;
        result.files.push(key);
      });
    }

    // After the rewrites: the versions they just made noncurrent are among those read here.
    if (options.versions && !stopped()) {
      const versions = options.versions;
      const holding: ObjectVersion[] = [];
      await each(await oldVersions(versions), async (version) => {
        if ((await countDropped(version.key, await versions.get(version), erasesIn(version.key))) > 0) {
          holding.push(version);
        }
      });
      if (dryRun) result.versions = holding.length;
      else if (!stopped()) {
        await versions.delete(holding);
        result.versions = holding.length;
      }
    }
  } finally {
    if (bench) await (await bench).close();
  }

  if (!stopped()) result.attachments = await eraseAttachments(sink, erasedChats, dryRun, options.versions);

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

/**
 * Deletes the stored files of erased chats and their `chat_files` rows (write order: bytes, then
 * row; delete order the same, so an interrupted erase leaves no row pointing to deleted bytes
 * that the next run would not find), then the noncurrent versions those deletes left. Returns how
 * many objects went (or would go).
 */
async function eraseAttachments(
  sink: LakeSink,
  chats: ReadonlySet<string>,
  dryRun: boolean,
  versions: NoncurrentVersions | undefined,
): Promise<number> {
  let removed = await eraseCompactedFileRows(sink, chats, dryRun, versions);
  for (const chat of [...chats].sort()) {
    const [day, owner] = [chat.slice(0, 10), chat.slice(11)];
    for (const prefix of [chatFilesFolder(day, owner), chatFileRowsPrefix(day, owner)]) {
      const keys = await sink.list(prefix);
      if (!dryRun && keys.length) await sink.delete(keys);
      removed += keys.length;
      if (!versions) continue;
      const old = await versions.list(prefix);
      if (!dryRun && old.length) await versions.delete(old);
      removed += dryRun ? 0 : old.length;
    }
  }
  return removed;
}

/**
 * The erased chats' rows in compacted `chat_files` files (`compacted/chat-files/…`, compaction.ts):
 * each day or month file that holds one is derived again without them (deleted when none is
 * left), as a compare-and-swap; then the noncurrent versions that still hold one. Returns how
 * many rows (and noncurrent versions) went (or would go).
 */
async function eraseCompactedFileRows(
  sink: LakeSink,
  chats: ReadonlySet<string>,
  dryRun: boolean,
  versions: NoncurrentVersions | undefined,
): Promise<number> {
  if (chats.size === 0) return 0;
  const table = compactedTablePrefix(CHAT_FILES_PREFIX);
  const days = [...new Set([...chats].map((chat) => chat.slice(0, 10)))].sort();
  const prefixes = [
    ...days.map((day) => partitionPrefix(day, table)),
    ...[...new Set(days.map((day) => day.slice(0, 7)))].map((month) => monthPartitionPrefix(month, table)),
  ];
  const keys = (await Promise.all(prefixes.map((prefix) => sink.list(prefix))))
    .flat()
    .filter((key) => key.endsWith('.parquet'));
  // After the rewrites: the versions they just made noncurrent are among those read.
  const oldVersions = async () =>
    versions
      ? (await Promise.all(prefixes.map((prefix) => versions.list(prefix))))
          .flat()
          .filter((v) => v.key.endsWith('.parquet'))
      : [];
  if (keys.length === 0 && (await oldVersions()).length === 0) return 0;
  const dropsIn = (key: string) => {
    const dayOfKey = /(?:^|\/)dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
    return (row: Record<string, unknown>, day?: string) =>
      chats.has(`${day ?? dayOfKey}/${String(row['thread_id'] ?? row['chat_id'])}`);
  };
  const workbench = await ParquetWorkbench.open();
  try {
    let removed = 0;
    for (const key of keys) {
      if (dryRun || !canSwap(sink)) {
        const body = await sink.get(key);
        const drops = dropsIn(key);
        if (body) removed += (await parquetRecords(workbench, key, body)).filter((r) => drops(r.record, r.day)).length;
      } else removed += (await rewriteParquetWithout(sink, workbench, key, dropsIn(key))).dropped;
    }
    const holding: ObjectVersion[] = [];
    for (const version of await oldVersions()) {
      const drops = dropsIn(version.key);
      const records = await parquetRecords(workbench, version.key, await versions!.get(version));
      if (records.some((r) => drops(r.record, r.day))) holding.push(version);
    }
    if (!dryRun && holding.length > 0) await versions!.delete(holding);
    return removed + holding.length;
  } finally {
    await workbench.close();
  }
}
