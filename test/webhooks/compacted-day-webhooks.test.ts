import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COMPACT_EXIT, compactCommand } from '#cli/compact-command.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { planCompaction, prepareDay } from '#pipeline/athena-compaction.ts';
import { chatTask } from '#shared/archive-task.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { archiveChat } from '#sources/v36/chat-archiver.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { capture, runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';

/**
 * Webhook files beside a compacted day (issue 29): a thread delivered after its day was compacted
 * to Parquet is written as `webhook-<thread>.json.gz` beside the Parquet file (a Lambda worker
 * cannot rewrite Parquet). Meanwhile every query that reads the latest copy counts it once; the
 * next compaction takes the webhook files in (they are whole, final files, not a pass's units).
 */
const DAY = '2026-05-01';
/** The named queries over chats' content (not run records or copy diagnostics). */
const CONTENT_QUERIES = [
  'chats_per_day',
  'chats_per_agent_per_day',
  'rating_share',
  'missed_chat_share',
  'goals_reached',
  'duration_stats',
  'first_response_time',
  'chats_per_group',
  'chats_per_tag',
  'thread_tags_and_summaries',
];
let sim: RunningV36Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function archive(out: string) {
  const run = await runArchiveCli(
    ['--from', DAY, '--to', DAY, '--out', out, '--api-url', sim!.url, '--source', 'v3.6'],
    { LIVECHAT_ACCOUNT_ID: sim!.accountId, LIVECHAT_PAT: sim!.token },
  );
  expect(run.code, run.stderr).toBe(0);
}

async function compact(lake: string) {
  const out = capture();
  const err = capture();
  expect(await compactCommand(['--lake', lake], { stdout: out.stream, stderr: err.stream }), err.text()).toBe(
    COMPACT_EXIT.ok,
  );
  return out.text();
}

async function queries(lake: string) {
  const db = await openLocalLake(lake);
  try {
    const named: Record<string, unknown[]> = {};
    for (const name of CONTENT_QUERIES) named[name] = await db.runNamed(name, ALL_DAYS);
    const copies = await db.query(
      `SELECT (SELECT count(*) FROM chats WHERE dt = '${DAY}') AS rows, (SELECT count(DISTINCT id) FROM chats WHERE dt = '${DAY}') AS chats`,
    );
    const duplicates = await db.runNamed('duplicate_chats', ALL_DAYS);
    return { named, copies: copies[0], duplicates };
  } finally {
    await db.close();
  }
}

describe('webhook deliveries for a compacted day', () => {
  it('are counted once by the latest-copy queries meanwhile, and the next compaction takes them in', async () => {
    sim = await startV36Simulator({ from: DAY, to: DAY, seed: 21, chatsPerDay: 18 });
    const lake = await mkdtemp(join(tmpdir(), 'lake-compacted-webhooks-'));
    await archive(lake);
    await compact(lake);
    expect((await listFiles(lake)).filter((file) => /^(chats|archives)\//.test(file))).toEqual([]);

    // A thread the night had (a late or repeated delivery), and one it never saw (ended after the night).
    const known = sim.archives(DAY)[3]!.thread.id;
    const [added] = sim.addChats(DAY, 1, 'random');
    const client = createArchivesClient({
      apiUrl: sim.url,
      credentials: { kind: 'pat', accountId: sim.accountId, token: sim.token },
    });
    const sink = new LocalFileSink(lake);
    for (const thread of [known, added!.id]) {
      const written = await archiveChat(chatTask(`C${thread.slice(1)}`, thread, 'UTC', new Date()), {
        getChat: client.getChat!,
        sink,
      });
      expect(written).toMatchObject({ day: DAY, chats: 1, merged: false });
    }
    expect((await listFiles(lake)).filter((file) => file.includes('webhook-'))).toHaveLength(4);
    // On AWS the next night's compaction plans the day again (its JSON files are whole webhook threads).
    const settings = {
      prefixes: ['chats/', 'archives/'],
      database: 'livechat',
      bucket: 'lake-bucket',
      timeZone: 'UTC',
      lookbackDays: 3,
      settleHours: 2,
      maxDays: 60,
      monthFiles: true,
    };
    // A small day: its month is the unit (the month file takes the day in again).
    const plan = await planCompaction(sink, settings, new Date('2026-05-20T12:00:00Z'));
    expect(plan).toMatchObject({ days: [DAY.slice(0, 7)], notSettled: [] });
    expect(await prepareDay(sink, settings, DAY.slice(0, 7))).not.toHaveProperty('skipped');

    // What every thread once gives: the same day archived afresh.
    const fresh = await mkdtemp(join(tmpdir(), 'lake-compacted-fresh-'));
    await archive(fresh);
    const expected = await queries(fresh);
    const threads = sim.archives(DAY).length;
    expect(expected.copies).toEqual({ rows: threads, chats: threads });

    const meanwhile = await queries(lake);
    expect(meanwhile.named).toEqual(expected.named);
    // The repeated thread is stored twice (Parquet and its webhook file) until the next compaction;
    // duplicate_chats does not count a compacted copy beside a JSON one.
    expect(meanwhile.copies).toEqual({ rows: threads + 1, chats: threads });
    expect(meanwhile.duplicates).toEqual([]);

    expect(await compact(lake)).toMatch(/compacted/);
    expect((await listFiles(lake)).filter((file) => /^(chats|archives)\//.test(file))).toEqual([]);
    const after = await queries(lake);
    expect(after.named).toEqual(expected.named);
    expect(after.copies).toEqual({ rows: threads, chats: threads });
    expect(after.duplicates).toEqual([]);
  }, 60_000);
});
