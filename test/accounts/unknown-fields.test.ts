import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { dayPlanKey, runManifestKey } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { handleQueuedTask } from '#pipeline/queued-task-handler.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { type ArchiveTask, dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';

// Fields no LiveChat doc describes (the simulator adds them to every chat it serves): a top-level
// object and a field inside the documented `visitor`.
const DAY = '2026-05-04';
const EXTRA = { greeting: { id: 7, text: 'secret-greeting-text' }, visitor: { language: 'pl-secret' } };
const NAMES = ['greeting', 'visitor.language'];
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('chat fields the table does not know', () => {
  it('CLI: the lines are written verbatim, the run completes, the summary and the manifest name the fields (never values)', async () => {
    sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 40, extraFields: EXTRA });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const run = await runArchiveCli(['--from', DAY, '--to', DAY, '--out', out, '--api-url', sim.url], {
      LIVECHAT_LOGIN: sim.login,
      LIVECHAT_PAT: sim.pat,
    });
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toContain(
      'unknown fields (kept verbatim in the lake, not columns of the table; extend functions/lake/chat-columns.ts): greeting, visitor.language',
    );
    expect(run.stdout + run.stderr).not.toMatch(/secret/);

    const chats = await decodeNdjsonGzip<Record<string, { language?: string }>>(
      await readFile(join(out, 'chats', `dt=${DAY}`, (await listFiles(join(out, 'chats', `dt=${DAY}`)))[0]!)),
    );
    expect(chats[0]?.['greeting']).toEqual(EXTRA.greeting);
    expect(chats[0]?.['visitor']?.language).toBe('pl-secret');

    const manifestFile = (await listFiles(join(out, 'manifests', 'runs')))[0]!;
    const manifestText = await readFile(join(out, 'manifests', 'runs', manifestFile), 'utf8');
    const manifest = JSON.parse(manifestText) as RunManifest;
    expect(manifest.unknownFields).toEqual(NAMES);
    expect(manifest.days[0]?.unknownFields).toEqual(NAMES);
    expect(manifestText).not.toMatch(/secret/);
    const plan = await readFile(join(out, dayPlanKey(manifest.runId, DAY, 1)), 'utf8');
    expect(JSON.parse(plan)).toMatchObject({ unknownFields: NAMES });
    expect(runManifestKey(manifest.runId)).toContain(manifestFile);
  });

  it('worker: the day plan record, the result, one warn log line and the UnknownFields metric name them', async () => {
    sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 40, extraFields: EXTRA });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const sent: ArchiveTask[] = [];
    const deps = {
      source: v2Source(createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials })),
      sink: new LocalFileSink(out),
      sender: { send: async (tasks: readonly ArchiveTask[]) => void sent.push(...tasks) },
      maxAttempts: 3,
    };
    const planned = await handleQueuedTask(dayTask('run-1', DAY, 1, {}, 'UTC'), deps);
    expect(planned).toMatchObject({ kind: 'day-planned', unknownFields: NAMES });
    expect(JSON.parse(await readFile(join(out, dayPlanKey('run-1', DAY, 1)), 'utf8'))).toMatchObject({
      unknownFields: NAMES,
    });
    const page = await handleQueuedTask(sent[0]!, deps);
    expect(page).toMatchObject({ kind: 'page-written', page: 2, unknownFields: NAMES });
    const report = reportOf(page);
    expect(report).toEqual({
      level: 'warn',
      message: 'page written; chat fields the table has no column for: greeting, visitor.language',
      counts: { PagesArchived: 1, ChatsArchived: 15, UnknownFields: 2 },
    });
    expect(JSON.stringify([planned, page, report])).not.toMatch(/secret/);
  });

  it('worker: a page of documented fields only reports nothing extra', async () => {
    sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 10 });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const deps = {
      source: v2Source(createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials })),
      sink: new LocalFileSink(out),
      sender: { send: async () => undefined },
      maxAttempts: 3,
    };
    const planned = await handleQueuedTask(dayTask('run-1', DAY, 1, {}, 'UTC'), deps);
    expect(planned).not.toHaveProperty('unknownFields');
    expect(reportOf(planned)).toEqual({
      level: 'info',
      message: 'day planned',
      counts: { PagesArchived: 1, ChatsArchived: 10 },
    });
  });
});
