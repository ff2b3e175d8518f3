/**
 * Issue 23 (nothing lost, for files): a local run stopped after a day settled and before that
 * day's files tasks finished, then run again, stores every file the day's chats point to, once,
 * byte for byte. The local task queue is in memory, so the stopped run must not record such a
 * day as done (the next run would skip it and its files would wait until the day is archived
 * again). Two ways in: the CLI as a real process, Ctrl-C (SIGINT) or SIGKILL sent when a day's
 * settle marker appears while its files come slowly; and the local runner stopped exactly at the
 * crash point (the settle marker written), then resumed as the CLI resumes. (SIGKILL writes no
 * manifest, so the next run archives every day again: that case held before too, a guard.)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { compactLake } from '#lake/compaction.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { SETTLED_PREFIX } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { runIdAt } from '#pipeline/run-planner.ts';
import { resumePoint } from '#pipeline/run-resume.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { addDays } from '#shared/day-range.ts';
import { simulatedFileBytes, storableFromSimulator } from '#simulator/attachment-files.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { type AttachmentRef, v2AttachmentRefs, v36AttachmentRefs } from '#test/support/attachment-refs.ts';
import { runArchiveCli, spawnCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

const FROM = '2026-06-01';
const DAYS = [FROM, addDays(FROM, 1), addDays(FROM, 2)];
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** Every file reference the lake should hold: `chat_files` rows once each; stored files byte-identical, once. */
async function expectEveryFileStoredOnce(out: string, refs: readonly AttachmentRef[]): Promise<number> {
  const lake = await openLocalLake(out);
  let rows: Array<Record<string, string | null>>;
  try {
    rows = await lake.query<Record<string, string | null>>(
      'SELECT coalesce(thread_id, chat_id) AS owner, url, status, lake_key, sha256 FROM chat_files',
    );
  } finally {
    await lake.close();
  }
  const byRef = new Map<string, Array<Record<string, string | null>>>();
  for (const row of rows)
    byRef.set(`${row['owner']}|${row['url']}`, [...(byRef.get(`${row['owner']}|${row['url']}`) ?? []), row]);
  const storable = refs.filter(({ url }) => storableFromSimulator(url));
  const missing = refs.filter(({ owner, url }) => !byRef.has(`${owner}|${url}`));
  expect(missing.length, `references without a chat_files row (of ${refs.length})`).toBe(0);
  expect(rows.length, 'one chat_files row per reference').toBe(refs.length);
  let bytes = 0;
  for (const { owner, url } of storable) {
    const [row] = byRef.get(`${owner}|${url}`)!;
    expect(row!['status'], url).toBe('stored');
    const stored = await readFile(join(out, row!['lake_key']!));
    const served = simulatedFileBytes(url)!;
    expect(createHash('sha256').update(stored).digest('hex'), url).toBe(
      createHash('sha256').update(served).digest('hex'),
    );
    expect(row!['sha256']).toBe(createHash('sha256').update(served).digest('hex'));
    bytes += stored.length;
  }
  // Stored once: the files/ prefix holds exactly the storable files, nothing twice, no leftovers.
  expect((await listFiles(join(out, 'files'))).length, 'files under files/').toBe(storable.length);
  return bytes;
}

async function latestManifest(out: string): Promise<RunManifest> {
  const keys = (await listFiles(join(out, 'manifests', 'runs'))).filter((key) => key.endsWith('.json')).sort();
  return JSON.parse(await readFile(join(out, 'manifests', 'runs', keys.at(-1)!), 'utf8')) as RunManifest;
}

function archiveProcess(args: string[], env: Record<string, string>) {
  const run = spawnCli('bin/archive.ts', args, env);
  closers.push(() => void run.child.kill('SIGKILL'));
  return run;
}

describe('a local run stopped between a day settling and its files tasks, then run again (issue 23)', () => {
  it.each(['SIGINT', 'SIGKILL'] as const)(
    'the CLI as a process, %s when a settle marker appears: the rerun stores every file once, byte-identical',
    async (signal) => {
      // Files come slowly (the CDN is far), so a day's files tasks are still queued when it settles.
      const sim = await startSimulator({
        from: DAYS[0]!,
        to: DAYS.at(-1)!,
        chatsPerDay: () => 240,
        fileLatencyMs: 150,
      });
      closers.push(() => sim.close());
      const out = join(await mkdtemp(join(tmpdir(), 'files-after-kill-')), 'lake');
      const args = [
        ...['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--api-url', sim.url, '--out', out, '--concurrency', '1'],
        ...['--attachment-hosts', '127.0.0.1', '--max-attachment-mb', '1'],
      ];
      const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };
      const refs = v2AttachmentRefs(DAYS.flatMap((day) => sim.chats(day)));

      const first = archiveProcess(args, env);
      const settled = join(out, SETTLED_PREFIX);
      let exited = false;
      void first.done.then(() => (exited = true));
      while (!exited && (await listFiles(settled)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(exited, first.output()).toBe(false);
      // SIGINT, one Ctrl-C: tasks in flight finish, the rest is dropped, the manifest is written. SIGKILL: nothing more.
      first.child.kill(signal);
      if (signal === 'SIGINT') {
        expect(await first.done, first.output()).toBe(EXIT.interrupted);
        expect((await latestManifest(out)).interrupted).toBe(true);
      } else {
        expect(await first.done).toBe(null);
      }
      // The stop landed in the window: some file the chats point to is not stored yet.
      const storedBefore = (await listFiles(join(out, 'files'))).length;
      expect(storedBefore).toBeLessThan(refs.filter(({ url }) => storableFromSimulator(url)).length);

      const rerun = archiveProcess(args, env);
      expect(await rerun.done, rerun.output()).toBe(EXIT.ok);
      const bytes = await expectEveryFileStoredOnce(out, refs);
      expect(bytes).toBeGreaterThan(0);
      const manifest = await latestManifest(out);
      expect(manifest.complete).toBe(true);
    },
    180_000,
  );

  it('the local runner stopped right after a settle marker is written, resumed as the CLI resumes (v3.6)', async () => {
    const sim = await startV36Simulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: 80, seed: 23 });
    closers.push(() => sim.close());
    const out = await mkdtemp(join(tmpdir(), 'files-after-stop-'));
    const source = () =>
      v36Source(
        createArchivesClient({
          apiUrl: sim.url,
          credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
          baseRetryDelayMs: 5,
        }),
      );
    const files = { fetcher: safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 }) };
    const refs = v36AttachmentRefs(DAYS.flatMap((day) => sim.archives(day)));

    // The crash point: the first day's settle marker is written, and the run is stopped there.
    const stop = new AbortController();
    const stopAtSettle: LakeSink = new Proxy(new LocalFileSink(out), {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'put' || typeof value !== 'function')
          return typeof value === 'function' ? value.bind(target) : value;
        return async (key: string, ...rest: unknown[]) => {
          const written = await (value as (...args: unknown[]) => Promise<unknown>).call(target, key, ...rest);
          if (key.startsWith(SETTLED_PREFIX)) stop.abort();
          return written;
        };
      },
    });
    const first = await runArchive({
      runId: runIdAt('local', new Date('2026-06-10T01:00:00Z')),
      days: DAYS,
      source: source(),
      sink: stopAtSettle,
      concurrency: 2,
      files,
      redeliveryDelayMs: 5,
      signal: stop.signal,
    });
    expect(first.interrupted).toBe(true);
    expect(existsSync(join(out, SETTLED_PREFIX))).toBe(true);

    const sink = new LocalFileSink(out);
    const resumed = await resumePoint(sink, DAYS);
    const second = await runArchive({
      runId: runIdAt('local', new Date('2026-06-10T02:00:00Z')),
      days: DAYS.filter((day) => !resumed?.days.includes(day)),
      ...(resumed && resumed.days.length > 0 ? { resumed } : {}),
      source: source(),
      sink,
      concurrency: 2,
      files,
      redeliveryDelayMs: 5,
    });
    expect(second.complete).toBe(true);
    expect(await expectEveryFileStoredOnce(out, refs)).toBeGreaterThan(0);
  }, 120_000);

  it('a files task that fails on every delivery fails its day (not complete), so the next run archives it again', async () => {
    const sim = await startSimulator({ from: DAYS[0]!, to: DAYS[0]!, chatsPerDay: () => 120, seed: 7 });
    closers.push(() => sim.close());
    const { manifest } = await archiveLocally(sim, [DAYS[0]!], {
      attachments: true,
      sink: (out) =>
        new Proxy(new LocalFileSink(out), {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (typeof value !== 'function') return value;
            if (property !== 'put') return value.bind(target);
            return async (key: string, ...rest: unknown[]) => {
              if (key.startsWith('files/')) throw new Error('disk full');
              return (value as (...args: unknown[]) => Promise<unknown>).call(target, key, ...rest);
            };
          },
        }),
    });
    expect(manifest.days.map((day) => [day.day, day.status])).toEqual([[DAYS[0], 'failed']]);
    expect(manifest.days[0]!.problem).toMatch(/disk full/);
    expect(manifest.complete).toBe(false);
  }, 60_000);
});

describe('a re-archive of a compacted day killed (SIGKILL) after it settles, then run again', () => {
  it('neither run fetches a stored file again, and every file is stored once, byte-identical', async () => {
    const sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 120, fileLatencyMs: 100 });
    closers.push(() => sim.close());
    const out = join(await mkdtemp(join(tmpdir(), 'files-compacted-kill-')), 'lake');
    const args = [
      ...['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--api-url', sim.url, '--out', out, '--concurrency', '1'],
      ...['--attachment-hosts', '127.0.0.1', '--max-attachment-mb', '1'],
    ];
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };
    const refs = v2AttachmentRefs(DAYS.flatMap((day) => sim.chats(day)));
    expect((await runArchiveCli(args, env)).code).toBe(EXIT.ok);
    const sink = new LocalFileSink(out);
    await compactLake({ sink, tables: V2_SOURCE.mergedTables, erasures: () => ErasedVisitors.load(sink) });
    expect(await sink.list('chat-files/')).toEqual([]);
    const storedPaths = new Set(
      refs.filter(({ url }) => storableFromSimulator(url)).map(({ url }) => new URL(url).pathname),
    );
    const requestsBefore = sim.fileRequests().length;

    const settled = join(out, SETTLED_PREFIX);
    const settledBefore = (await listFiles(settled)).length;
    const killed = archiveProcess([...args, '--full'], env);
    let exited = false;
    void killed.done.then(() => (exited = true));
    while (!exited && (await listFiles(settled)).length === settledBefore) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(exited, killed.output()).toBe(false);
    killed.child.kill('SIGKILL');
    expect(await killed.done).toBe(null);

    const rerun = archiveProcess([...args, '--full'], env);
    expect(await rerun.done, rerun.output()).toBe(EXIT.ok);
    const again = sim.fileRequests().slice(requestsBefore);
    expect(again.filter((request) => storedPaths.has(request.path)).map((request) => request.path)).toEqual([]);
    expect(await expectEveryFileStoredOnce(out, refs)).toBeGreaterThan(0);
    const files = (await latestManifest(out)).totals.files!;
    expect([files.stored, files.downloaded]).toEqual([storedPaths.size, 0]);
  }, 120_000);
});
