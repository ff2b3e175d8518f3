import { readDayPartition, settleDayPartition } from '#lake/day-consolidation.ts';
import { pageKey } from '#lake/lake-layout.ts';
import { encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink, ObjectContentType } from '#lake/sinks/lake-sink.ts';
import { generateDay } from '#simulator/index.ts';
import { CHATS_PER_PAGE } from '#sources/v2/livechat-schema.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';

/** A lake in memory: settling's reads, writes and deletes without disk time. */
class MemorySink implements LakeSink {
  readonly location = 'memory://';
  readonly files = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array, _type?: ObjectContentType): Promise<void> {
    this.files.set(key, body);
  }
  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    if (this.files.has(key)) return false;
    this.files.set(key, body);
    return true;
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.files.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.files.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.files.delete(key);
  }
}

export interface SettleFigure {
  chats: number;
  files: number;
  /** Bytes of the pass's page files (gzip NDJSON) the settle reads. */
  bytesIn: number;
  bytesOut: number;
  cpuMs: number;
  wallMs: number;
  /** Heap growth from just before the settle to its end (a lower bound of the day held in memory). */
  heapMb: number;
  /** Same, for a second settle of the day: a pass over an already settled day (the nightly lookback case). */
  againCpuMs: number;
}

/**
 * Settling one v2 day of `chats` simulator chats, as written by one pass (page files of 25 chats,
 * `_run_id`/`_archived_at`/`_page` on every line): read every file, gunzip, parse, merge by id,
 * gzip the merged file, write it, delete the inputs (functions/lake/day-consolidation.ts). Then a
 * second pass over the settled day (the same chats fetched again) settles once more. Median of `runs`.
 */
export async function settleCost(day: string, chats: number, runs: number): Promise<SettleFigure> {
  const dayChats = generateDay(42, day, chats, new Set());
  const pass = (plan: string) => ({ runId: 'bench-settle', attempt: 1, plan });
  const writePass = async (sink: MemorySink, plan: string, archivedAt: string) => {
    for (let start = 0, page = 1; start < dayChats.length; start += CHATS_PER_PAGE, page += 1) {
      const body = await encodeNdjsonGzip(dayChats.slice(start, start + CHATS_PER_PAGE), {
        _run_id: 'bench-settle',
        _archived_at: archivedAt,
        _page: page,
      });
      await sink.put(pageKey(day, page, pass(plan)), body, 'ndjson-gzip');
    }
  };
  const ids = new Set(dayChats.map((chat) => chat.id));
  const settle = async (sink: MemorySink, plan: string) => {
    const partition = await readDayPartition(sink, day, V2_SOURCE.mergedTables, pass(plan));
    return settleDayPartition(sink, partition, () => false, ids);
  };
  const figures: SettleFigure[] = [];
  for (let run = 0; run < runs; run += 1) {
    const sink = new MemorySink();
    await writePass(sink, 'a1', '2026-01-01T00:00:00.000Z');
    const bytesIn = [...sink.files.values()].reduce((sum, body) => sum + body.byteLength, 0);
    const files = sink.files.size;
    (globalThis as { gc?: () => void }).gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    const settled = await settle(sink, 'a1');
    const cpu = process.cpuUsage(cpuStart);
    const wallMs = performance.now() - wallStart;
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1_048_576;
    if (settled.chats !== chats) throw new Error(`settled ${settled.chats} chats of ${chats}`);
    const bytesOut = [...sink.files.values()].reduce((sum, body) => sum + body.byteLength, 0);
    await writePass(sink, 'b2', '2026-01-02T00:00:00.000Z');
    const againStart = process.cpuUsage();
    await settle(sink, 'b2');
    const again = process.cpuUsage(againStart);
    figures.push({
      chats,
      files,
      bytesIn,
      bytesOut,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      heapMb,
      againCpuMs: (again.user + again.system) / 1000,
    });
  }
  figures.sort((a, b) => a.cpuMs - b.cpuMs);
  return figures[Math.floor(figures.length / 2)]!;
}
