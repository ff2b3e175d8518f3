import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { dayTask, encodeTask, type FilesTask } from '#shared/archive-task.ts';
import { kindOf, simulatedFileBytes } from '#simulator/attachment-files.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2AttachmentRefs } from '#test/support/attachment-refs.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';

const DAYS = ['2026-06-01', '2026-06-02'];
let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS[1]!, chatsPerDay: 120 });
});
afterAll(() => sim.close());

describe('attachments on the queued path (the worker Lambda’s task handler)', () => {
  it('each settled day queues files tasks; redelivered, duplicated and shuffled, they store every file once, byte for byte', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-queued-files-'));
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const sent: string[] = [];
    const fetcher = safeFileFetcher({ hosts: ['127.0.0.1'], maxBytes: 1_048_576, baseRetryDelayMs: 5 });
    const { results } = await deliverUntilEmpty(
      DAYS.map((day) => dayTask('run-files', day, 1, {}, 'UTC')),
      {
        client,
        sink: new LocalFileSink(out),
        maxAttempts: 5,
        files: { fetcher, filesPerTask: 5, concurrency: 2 },
        sender: { send: async (tasks) => void sent.push(...tasks.map(encodeTask)) },
      },
      { seed: 11, shuffle: true, duplicateRate: 0.3, crashBeforeAckRate: 0.1 },
    );

    const filesTasks = sent.map((body) => JSON.parse(body) as FilesTask).filter((task) => task.kind === 'files');
    expect(filesTasks.length).toBeGreaterThan(1);
    expect(Math.max(...filesTasks.map((task) => task.files.length))).toBeLessThanOrEqual(5);
    // A message stays far below SQS's 256 KiB.
    expect(Math.max(...sent.map((body) => Buffer.byteLength(body)))).toBeLessThan(64 * 1024);

    const urls = v2AttachmentRefs(DAYS.flatMap((day) => sim.chats(day))).map(({ url }) => url);
    const rowKeys = await listFiles(join(out, 'chat-files'));
    expect(rowKeys).toHaveLength(urls.length);
    const rows = await Promise.all(
      rowKeys.map(
        async (key) => JSON.parse(await readFile(join(out, 'chat-files', key), 'utf8')) as Record<string, string>,
      ),
    );
    for (const url of urls) {
      const row = rows.find((candidate) => candidate['url'] === url)!;
      const kind = kindOf(/\/([0-9a-f]{32})\//.exec(url)![1]!);
      if (kind === 'ok' || kind === 'redirect') {
        expect(row['status']).toBe('stored');
        const bytes = await readFile(join(out, row['lake_key']!));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(
          createHash('sha256').update(simulatedFileBytes(url)!).digest('hex'),
        );
      } else {
        expect(row['status']).not.toBe('stored');
      }
    }
    // Worker metrics count files by status.
    const archived = results.filter((result) => result.kind === 'files-archived');
    expect(archived.length).toBeGreaterThanOrEqual(filesTasks.length);
    const metrics = archived.map(reportOf).map((report) => report.counts);
    expect(metrics.some((counts) => (counts['FilesStored'] ?? 0) > 0)).toBe(true);
    expect(sim.fileRequests().filter((request) => !request.host.startsWith('127.0.0.1:'))).toEqual([]);
  });
});
