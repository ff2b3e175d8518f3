import { CHAT_TABLE_PREFIXES } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { ErasedVisitors } from './erased-visitors.ts';
import { canSwap, conversationId, recordErasedFromFile, rewriteWithout } from './rewrite-without.ts';

const isChatFile = (key: string) => CHAT_TABLE_PREFIXES.some((prefix) => key.startsWith(prefix));

/**
 * The other half of an erase racing an archive write. A task drops erased visitors' chats with the
 * erasure records it listed when it started; an erase that records a visitor after that listing
 * may scan a file before the task writes it. So the task's sink remembers every chat file it
 * writes, and `settle` (after the task's last write) lists the records again: each one new since
 * the start has its chats removed from those files by a compare-and-swap rewrite.
 *
 * Why that is enough: an erase writes its record before it lists the lake. If `settle`'s listing
 * comes after the record, the task removes the chats itself; if it came before, every write of the
 * task came before the record too, so the erase's scan finds them. Either way, and with both
 * sides' rewrites conditional, no interleaving leaves an erased chat in a current file (whatever
 * the files are called: page files, pass-unique files, merged files).
 */
export class ErasureRaceGuard {
  private readonly written = new Set<string>();
  readonly sink: LakeSink;

  constructor(
    private readonly inner: LakeSink,
    private readonly known: ErasedVisitors,
    private readonly now: () => Date = () => new Date(),
  ) {
    const track = (key: string) => {
      if (isChatFile(key)) this.written.add(key);
    };
    const sink: LakeSink = {
      location: inner.location,
      ...(inner.concatenatedGzip ? { concatenatedGzip: true } : {}),
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
      delete: (keys) => inner.delete(keys),
      async put(key, body, contentType) {
        track(key);
        await inner.put(key, body, contentType);
      },
      async putIfAbsent(key, body, contentType) {
        track(key);
        return inner.putIfAbsent(key, body, contentType);
      },
    };
    if (inner.getVersioned) sink.getVersioned = inner.getVersioned.bind(inner);
    if (inner.replaceIfUnchanged) {
      const replace = inner.replaceIfUnchanged.bind(inner);
      sink.replaceIfUnchanged = async (key, version, body, contentType) => {
        track(key);
        return replace(key, version, body, contentType);
      };
    }
    if (inner.removeLeftovers) sink.removeLeftovers = inner.removeLeftovers.bind(inner);
    this.sink = sink;
  }

  /** Chats removed from this task's files for visitors erased while it ran (0 almost always). */
  async settle(): Promise<number> {
    if (this.written.size === 0) return 0;
    const erased = await ErasedVisitors.load(this.inner);
    const fresh = erased.hashes().filter((hash) => !this.known.hashes().includes(hash));
    if (fresh.length === 0) return 0;
    if (!canSwap(this.inner)) {
      throw new Error(
        `a visitor was erased while this task wrote to ${this.inner.location}, which cannot rewrite files`,
      );
    }
    const sink = this.inner;
    const keys = [...this.written].sort();
    // As erase does: a conversation is a row in each table, and a derived row may lack the identifier.
    const conversations = new Set<string>();
    for (const key of keys) {
      const body = await sink.get(key);
      for (const record of body ? await decodeNdjsonGzip(body) : []) {
        const id = erased.isErased(record) ? conversationId(record) : undefined;
        if (id !== undefined) conversations.add(id);
      }
    }
    const drops = (record: Record<string, unknown>) =>
      erased.isErased(record) || conversations.has(conversationId(record) ?? '');
    let removed = 0;
    for (const key of keys) {
      const { dropped } = await rewriteWithout(sink, key, drops, ({ byRun }) =>
        recordErasedFromFile(sink, key, byRun, fresh[0]!, this.now),
      );
      removed += dropped;
    }
    return removed;
  }
}
