import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { type ArchiveRunEvent, runArchive } from '#pipeline/archive-run.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { createLivechatClient, type RetryEvent } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { chatIdsByDay, duplicatesOf, listFiles } from './lake-reader.ts';

export interface LocalArchiveResult {
  out: string;
  manifest: RunManifest;
  retries: RetryEvent[];
  events: ArchiveRunEvent[];
}

/** Archives `days` from a running simulator into a fresh temp folder with test-speed backoff. */
export async function archiveLocally(
  sim: RunningSimulator,
  days: readonly string[],
  options: {
    concurrency?: number;
    maxAttempts?: number;
    timeoutMs?: number;
    sink?: (out: string) => LakeSink;
    /** Archive attachments from the simulator's own host (127.0.0.1); off by default. */
    attachments?: boolean;
  } = {},
): Promise<LocalArchiveResult> {
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const retries: RetryEvent[] = [];
  const events: ArchiveRunEvent[] = [];
  const client = createLivechatClient({
    apiUrl: sim.url,
    credentials: sim.credentials,
    baseRetryDelayMs: 5,
    maxRetryDelayMs: 300,
    timeoutMs: options.timeoutMs ?? 1_000,
    onRetry: (event) => retries.push(event),
  });
  const manifest = await runArchive({
    runId: 'test-run',
    days,
    source: v2Source(client),
    sink: options.sink?.(out) ?? new LocalFileSink(out),
    concurrency: options.concurrency ?? 6,
    maxAttempts: options.maxAttempts ?? 5,
    ...(options.attachments
      ? { files: { fetcher: safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 }) } }
      : {}),
    redeliveryDelayMs: 10,
    retries: () => retries.length,
    onEvent: (event) => events.push(event),
  });
  return { out, manifest, retries, events };
}

/**
 * The lake most tests of a file read: a simulator over `days` started in beforeAll and archived
 * once, completely, into a fresh folder (archiveLocally), the simulator closed in afterAll. `sim`
 * and `out` are set once beforeAll has run.
 */
export function useArchivedLake(
  days: readonly string[],
  simulator: Omit<SimulatorOptions, 'from' | 'to'>,
  archive: Parameters<typeof archiveLocally>[2] = {},
): { sim: RunningSimulator; out: string } {
  const lake = {} as { sim: RunningSimulator; out: string };
  beforeAll(async () => {
    lake.sim = await startSimulator({ from: days[0]!, to: days.at(-1)!, ...simulator });
    const run = await archiveLocally(lake.sim, days, archive);
    expect(run.manifest.complete).toBe(true);
    lake.out = run.out;
  }, 60_000);
  afterAll(() => lake.sim?.close());
  return lake;
}

/**
 * Archives `days` again into an existing lake `dir` (a backfill or a drift re-archive), as run
 * `runId`; attachments off unless `attachments` (then from the simulator's own host, as archiveLocally).
 */
export async function archiveAgain(
  sim: RunningSimulator,
  dir: string,
  days: readonly string[],
  runId: string,
  now?: () => Date,
  attachments = false,
) {
  const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
  return runArchive({
    ...(now ? { now } : {}),
    ...(attachments
      ? { files: { fetcher: safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 }) } }
      : {}),
    runId,
    days,
    source: v2Source(client),
    sink: new LocalFileSink(dir),
    concurrency: 4,
    maxAttempts: 5,
    redeliveryDelayMs: 10,
    retries: () => 0,
  });
}

/** The end state the product promises: each day's partition holds the simulator's chats, each once. */
export async function expectLakeMatchesSimulator(
  out: string,
  sim: { chats(day: string): ReadonlyArray<{ id: string }> },
  days: readonly string[],
): Promise<number> {
  const lake = await chatIdsByDay(out);
  let checked = 0;
  for (const day of days) {
    const ids = lake.get(day) ?? [];
    expect(duplicatesOf(ids), `duplicates on ${day}`).toEqual([]);
    expect([...ids].sort(), `chats of ${day}`).toEqual(
      sim
        .chats(day)
        .map((chat) => chat.id)
        .sort(),
    );
    checked += ids.length;
  }
  expect((await listFiles(out)).filter((file) => file.endsWith('.partial'))).toEqual([]);
  return checked;
}
