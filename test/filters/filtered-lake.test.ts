import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { claimLakeFilters, lakeFilters } from '#pipeline/lake-filters.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import { type ArchiveTask, dayTask } from '#shared/archive-task.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { chatIdsByDay, listFiles, runNamedOnce } from '#test/support/lake-reader.ts';

const FROM = '2024-03-03';
const TO = '2024-03-05';
const DAYS = [FROM, '2024-03-04', TO];

let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Every file of the lake with a hash of its bytes: "nothing written" is this map unchanged. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const file of await listFiles(dir)) {
    files.set(
      file,
      createHash('sha256')
        .update(await readFile(join(dir, file)))
        .digest('hex'),
    );
  }
  return files;
}

const env = () => ({ LIVECHAT_LOGIN: sim!.login, LIVECHAT_API_KEY: sim!.apiKey });
const archive = (out: string, extra: string[] = []) =>
  runArchiveCli(['--from', FROM, '--to', TO, '--out', out, '--api-url', sim!.url, ...extra], env());

/** `npm run archive` as a user runs it (bin/archive.ts in a child process). */
function archiveProcess(out: string, extra: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/archive.ts', '--from', FROM, '--to', TO, '--out', out, '--api-url', sim!.url, ...extra],
    { env: { ...process.env, ...env() }, stdio: 'pipe' },
  );
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr, stdout })),
  );
}

const chatCount = async (out: string) => [...(await chatIdsByDay(out)).values()].flat().length;

describe('a filtered run cannot damage a lake (issue 28, item 2)', () => {
  // The issue counted 188 chats; the bundled simulator (seed 42) has 190 on these days today.
  it('the issue reproduction: --type missed_chat over an unfiltered lake is refused, exit 2, nothing written, every chat stays', async () => {
    sim = await startSimulator({ from: FROM, to: TO });
    const out = await mkdtemp(join(tmpdir(), 'lake-filters-'));
    expect((await archive(out)).code).toBe(EXIT.ok);
    const all = DAYS.flatMap((day) => sim!.chats(day)).length;
    expect(await chatCount(out)).toBe(all);
    const before = await snapshot(out);
    const requests = sim.stats().requests;

    const refused = await archiveProcess(out, ['--type', 'missed_chat']);
    expect(refused.code).toBe(EXIT.usage);
    const errors = refused.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/is unfiltered .*this run is type=missed_chat.*separate lake \(--out DIR/);
    expect(await snapshot(out)).toEqual(before);
    expect(sim.stats().requests).toBe(requests);
    expect(await chatCount(out)).toBe(all);
  });

  it('a filtered lake keeps its filters: another set or none is refused, the same set runs, and day_completeness says so', async () => {
    sim = await startSimulator({ from: FROM, to: TO });
    const out = await mkdtemp(join(tmpdir(), 'lake-filters-'));
    expect((await archive(out, ['--type', 'missed_chat'])).code).toBe(EXIT.ok);
    const missed = await chatCount(out);
    expect(missed).toBe(DAYS.flatMap((day) => sim!.chats(day)).filter((chat) => chat.type === 'missed_chat').length);
    expect(await lakeFilters(new LocalFileSink(out))).toBe('type=missed_chat');
    const before = await snapshot(out);

    for (const other of [[], ['--type', 'chat'], ['--type', 'missed_chat', '--group', '1']]) {
      const result = await archive(out, other);
      expect(result.code, other.join(' ')).toBe(EXIT.usage);
      expect(result.stderr).toMatch(
        /^error: the lake .* is type=missed_chat \(manifests\/filters\/filtered-[0-9a-f]{16}\.json\)/m,
      );
      expect(result.stderr).toContain('--out DIR');
      expect(await snapshot(out)).toEqual(before);
    }

    expect((await archive(out, ['--type', 'missed_chat'])).code).toBe(EXIT.ok);
    expect(await chatCount(out)).toBe(missed);
    const rows = await runNamedOnce(out, 'day_completeness', { from: FROM, to: TO });
    expect(rows.map((row) => [row.dt, row.filters, row.status])).toEqual(
      DAYS.map((day) => [day, 'type=missed_chat', 'complete']),
    );
  });

  it('an unfiltered lake says unfiltered (NULL) in day_completeness and records it', async () => {
    sim = await startSimulator({ from: FROM, to: FROM, chatsPerDay: () => 10 });
    const out = await mkdtemp(join(tmpdir(), 'lake-filters-'));
    expect((await runArchiveCli(['--from', FROM, '--to', FROM, '--out', out, '--api-url', sim.url], env())).code).toBe(
      EXIT.ok,
    );
    expect(await listFiles(join(out, 'manifests', 'filters'))).toEqual(['unfiltered.json']);
    const rows = await runNamedOnce(out, 'day_completeness', { from: FROM, to: FROM });
    expect(rows).toEqual([expect.objectContaining({ dt: FROM, filters: null, status: 'complete' })]);
  });

  it('a lake from before filters were recorded (chats, no record) refuses a filtered run', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-filters-'));
    const sink = new LocalFileSink(out);
    await sink.put('chats/dt=2024-03-03/page-00001.json.gz', Buffer.from('x'), 'ndjson-gzip');
    await expect(claimLakeFilters(sink, { group: 2 }, 'r')).rejects.toThrowError(
      /is unfiltered \(it holds chats from before filters were recorded\), this run is group=2/,
    );
    expect(await listFiles(join(out, 'manifests'))).toEqual([]);
    // An empty lake takes the first run's filters.
    const empty = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-filters-')));
    await claimLakeFilters(empty, { group: 2 }, 'r');
    expect(await lakeFilters(empty)).toBe('group=2');
  });

  it('AWS path: a day task with other filters than the lake (a backfill with filters) is refused and writes nothing', async () => {
    sim = await startSimulator({ from: FROM, to: FROM, chatsPerDay: () => 30 });
    const out = await mkdtemp(join(tmpdir(), 'lake-filters-q-'));
    const sink = new LocalFileSink(out);
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const sent: ArchiveTask[] = [];
    const deps = {
      source: v2Source(client),
      sink,
      maxAttempts: 3,
      sender: { send: async (tasks: readonly ArchiveTask[]) => void sent.push(...tasks) },
    };
    // The configured filters (cdk.json `filters`, here none) are the lake's.
    await handleQueuedTask(dayTask('nightly', FROM, 1, {}, 'UTC'), deps);
    const before = await snapshot(out);
    const requests = sim.stats().requests;

    const refused = handleQueuedTask(dayTask('backfill', FROM, 1, { rate: 'rated_bad' }, 'UTC'), deps);
    await expect(refused).rejects.toThrowError(InvalidInputError);
    await expect(refused).rejects.toThrowError(
      /is unfiltered \(manifests\/filters\/unfiltered\.json\), this run is rate=rated_bad/,
    );
    expect(await snapshot(out)).toEqual(before);
    expect(sim.stats().requests).toBe(requests);
  });

  it('names a visitor id filter by its hash only, in the record and the day plans', async () => {
    const sink = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-filters-')));
    await claimLakeFilters(sink, { visitor_id: 'S1355415390.49b8940793' }, 'r');
    const recorded = await lakeFilters(sink);
    expect(recorded).toMatch(/^visitor_id=sha256:[0-9a-f]{12}$/);
    for (const file of await listFiles(sink.location)) {
      expect(await readFile(join(sink.location, file), 'utf8')).not.toContain('S1355415390');
    }
  });
});
