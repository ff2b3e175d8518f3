import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary } from '#cli/archive-command.ts';
import { dayPlanKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { type ArchiveTask, dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient, type LivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';

// v2 "Get list of chats": "the results are limited to the latest 25000 records ... exactly 1000
// pages". A day of 25 030 chats can only be read in part through GET /chats.
const BIG = '2026-05-04';
const SMALL = '2026-05-05';
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ from: BIG, to: SMALL, chatsPerDay: (day) => (day === BIG ? 25_030 : 30) });
}, 30_000);
afterAll(async () => sim?.close());

const problem =
  /the day has 25,030 chats, but LiveChat REST API v2 returns at most the latest 25,000 of one query: only those were archived; --source v3\.6 \(time slices\) can archive the whole day/;

describe('a day above the 25 000-record cap', () => {
  it('worker: plans 1 000 pages, records why the day is incomplete, and reports it as an error', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const sent: ArchiveTask[] = [];
    const result = await handleQueuedTask(dayTask('run-1', BIG, 1, {}, 'UTC'), {
      source: v2Source(createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials })),
      sink: new LocalFileSink(out),
      sender: { send: async (tasks: readonly ArchiveTask[]) => void sent.push(...tasks) },
      maxAttempts: 3,
    });
    expect(result).toMatchObject({
      kind: 'day-planned',
      total: 25_030,
      pages: 1000,
      incomplete: expect.stringMatching(problem),
    });
    expect(sent).toHaveLength(999);
    expect(sent.at(-1)).toMatchObject({ kind: 'page', page: 1000, pages: 1000, total: 25_030 });
    const plan = JSON.parse(await readFile(join(out, dayPlanKey('run-1', BIG, 1)), 'utf8')) as Record<string, unknown>;
    expect(plan).toMatchObject({ total: 25_030, units: 1000, incomplete: expect.stringMatching(problem) });
    const report = reportOf(result);
    expect(report.level).toBe('error');
    expect(report.message).toMatch(problem);
    expect(report.counts).toMatchObject({ DaysIncomplete: 1 });
  });

  it('the simulator serves it as LiveChat does: 1 000 pages, nothing beyond', async () => {
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials });
    const last = await client.listChats({ dateFrom: BIG, dateTo: BIG, timeZone: 'UTC', page: 1000 });
    expect(last).toMatchObject({ total: 25_030, pages: 1000 });
    expect(last.chats).toHaveLength(25);
    expect((await client.listChats({ dateFrom: BIG, dateTo: BIG, timeZone: 'UTC', page: 1001 })).chats).toEqual([]);
  });

  it('local run: archives the latest 25 000, never reports the day complete, and the summary says why and that --source v3.6 can', async () => {
    // The same API answers from memory (fetching 1 000 pages of realistic chats from the simulator takes long).
    const total = 25_030;
    const client: LivechatClient = {
      listChats: async ({ dateFrom, page }) => {
        const count = dateFrom === BIG ? total : 30;
        const first = (page - 1) * 25;
        const ids =
          page > 1000 ? [] : Array.from({ length: Math.max(0, Math.min(25, count - first)) }, (_, i) => first + i);
        return {
          chats: ids.map((n) => ({ id: `${dateFrom}-${n}` })),
          total: count,
          pages: Math.min(1000, Math.ceil(count / 25)),
        };
      },
    };
    const sink = new MemorySink();
    const manifest = await runArchive({
      runId: 'run-cap',
      days: [BIG, SMALL],
      source: v2Source(client),
      sink,
      concurrency: 8,
    });
    expect(manifest.complete).toBe(false);
    expect(manifest.days.map((day) => [day.day, day.status, day.chatsWritten, day.expectedTotal])).toEqual([
      [BIG, 'incomplete', 25_000, 25_030],
      [SMALL, 'complete', 30, 30],
    ]);
    expect(manifest.days[0]?.problem).toMatch(problem);
    const summary = formatSummary(manifest);
    expect(summary).toMatch(/^run run-cap: INCOMPLETE/);
    expect(summary.split('\n').find((line) => line.includes(BIG))).toMatch(
      new RegExp(`^  incomplete ${BIG}: ${problem.source} \\(25000/25030 chats\\)$`),
    );
  });
});

/** A lake in memory: the local run's writes, without 1 000 files on disk. */
class MemorySink implements LakeSink {
  readonly location = 'memory://';
  readonly objects = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array): Promise<void> {
    this.objects.set(key, body);
  }
  async putIfAbsent(key: string, body: Uint8Array): Promise<boolean> {
    if (this.objects.has(key)) return false;
    this.objects.set(key, body);
    return true;
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((key) => key.startsWith(prefix));
  }
  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.objects.get(key);
  }
}
