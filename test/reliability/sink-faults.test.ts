import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { type FakeS3, startFakeS3 } from '#test/support/fake-s3.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveLocally, expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

const DAYS = ['2026-09-01', '2026-09-02', '2026-09-03'];
let sim: RunningSimulator | undefined;
let s3: FakeS3 | undefined;

afterEach(async () => {
  await sim?.close();
  await s3?.close();
  sim = undefined;
  s3 = undefined;
});

function s3Client(endpoint: string) {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 5,
  });
}

describe('sink faults', () => {
  it('S3 throttling and 5xx on PutObject are retried by the SDK; the bucket ends complete', async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60 });
    s3 = await startFakeS3();
    const fake = s3;
    fake.failNextPuts(3, 503);
    const { manifest } = await archiveLocally(sim, DAYS, {
      sink: () => new S3Sink(s3Client(fake.endpoint), 'lake', 'archive'),
    });
    expect(manifest.complete).toBe(true);
    expect(fake.putsRefused).toBe(3);
    fake.failNextPuts(2, 500);
    await new S3Sink(s3Client(fake.endpoint), 'lake', 'archive').put(
      'chats/dt=2026-09-09/page-00001.json.gz',
      Buffer.from(''),
      'ndjson-gzip',
    );
    expect(fake.putsRefused).toBe(5);
    for (const day of DAYS) {
      const ids: string[] = [];
      for (const [key, object] of fake.objects) {
        if (!key.startsWith(`lake/archive/chats/dt=${day}/`)) continue;
        expect(object.contentEncoding).toBeUndefined(); // a gzip file, not a transfer encoding
        ids.push(...(await decodeNdjsonGzip<{ id: string }>(object.body)).map((chat) => chat.id));
      }
      expect(ids.sort()).toEqual(
        sim
          .chats(day)
          .map((chat) => chat.id)
          .sort(),
      );
    }
    expect([...fake.objects.keys()]).toContain('lake/archive/manifests/runs/test-run.json');
  });

  it('a local disk that refuses writes fails its day loudly, leaves no partial file, and a re-run completes the lake', async () => {
    sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 60 });
    let out = '';
    const broken = await archiveLocally(sim, DAYS, {
      sink: (dir) => {
        out = dir;
        const sink = new LocalFileSink(dir);
        return Object.assign(Object.create(sink) as LocalFileSink, {
          put: async (key: string, body: Uint8Array, type: 'ndjson-gzip' | 'json') => {
            if (key.startsWith('chats/dt=2026-09-02/'))
              throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
            return sink.put(key, body, type);
          },
        });
      },
    });
    expect(broken.manifest.complete).toBe(false);
    expect(broken.manifest.days.find((day) => day.day === '2026-09-02')).toMatchObject({
      status: 'failed',
      problem: 'ENOSPC: no space left on device',
    });
    expect(broken.events).toContainEqual(expect.objectContaining({ type: 'task-failed', day: '2026-09-02' }));
    expect((await listFiles(out)).filter((file) => file.includes('dt=2026-09-02'))).toEqual([]);
    const again = await archiveLocally(sim, DAYS);
    expect(again.manifest.complete).toBe(true);
    await expectLakeMatchesSimulator(again.out, sim, DAYS);
  });

  it('Ctrl-C during a run stops cleanly (no partial file, exit 130); the same command again completes the lake', async () => {
    const days = ['2026-09-01', '2026-09-02', '2026-09-03', '2026-09-04', '2026-09-05', '2026-09-06'];
    sim = await startSimulator({ from: days[0]!, to: days.at(-1)!, chatsPerDay: () => 100, latencyMs: 150 });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const args = [
      '--import',
      'tsx',
      'bin/archive.ts',
      '--from',
      days[0]!,
      '--to',
      days.at(-1)!,
      '--out',
      out,
      '--api-url',
      sim.url,
      '--concurrency',
      '2',
    ];
    const env = { ...process.env, LIVECHAT_LOGIN: sim.login, LIVECHAT_API_KEY: sim.apiKey };

    const first = spawn(process.execPath, args, { env, stdio: 'pipe' });
    let stderr = '';
    let interrupted = false;
    first.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!interrupted && /complete 2026-09-0\d/.test(stderr)) interrupted = first.kill('SIGINT'); // one Ctrl-C; a second one quits at once
    });
    const code = await new Promise<number | null>((resolve) => first.on('close', resolve));
    expect(code).toBe(EXIT.interrupted);
    expect(stderr).toMatch(/interrupted: finishing pages in flight/);
    const files = await listFiles(out);
    expect(files.filter((file) => file.endsWith('.partial'))).toEqual([]);
    const manifestFile = files.find((file) => file.startsWith('manifests/runs/'))!;
    const manifest = JSON.parse(await readFile(join(out, manifestFile), 'utf8')) as RunManifest;
    expect(manifest.complete).toBe(false);
    expect(manifest.days.some((day) => day.status === 'interrupted')).toBe(true);

    const second = spawn(process.execPath, args, { env, stdio: 'ignore' });
    expect(await new Promise((resolve) => second.on('close', resolve))).toBe(EXIT.ok);
    await expectLakeMatchesSimulator(out, sim, days);
  }, 60_000);
});
