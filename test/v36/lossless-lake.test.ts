import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findSchemaViolations } from '#lake/chat-columns.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { fromLakeRecord } from '#lake/lossless-record.ts';
import { ALL_DAYS } from '#lake/named-queries.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { archiveToLakeChat } from '#sources/v36/archive-mapping.ts';
import type { Archive } from '#sources/v36/archive-schema.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';

type Json = Record<string, unknown>;
const DAYS = ['2026-04-20', '2026-04-21', '2026-04-22'];
const BUSY = '2026-04-21'; // above the busy-day threshold below: 24 hour slices
let sim: RunningV36Simulator;
let out: string;

beforeAll(async () => {
  sim = await startV36Simulator({
    from: DAYS[0]!,
    to: DAYS.at(-1)!,
    seed: 12,
    chatsPerDay: (day) => (day === BUSY ? 90 : 45),
  });
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  out = await mkdtemp(join(tmpdir(), 'lake-lossless-'));
  const result = await runArchiveCli(
    ['--from', DAYS[0]!, '--to', DAYS.at(-1)!, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
    { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
    { v36Overrides: { busyDayThreshold: 60, pageLimit: 20 } },
  );
  expect(result.code).toBe(0);
});

afterAll(async () => {
  await sim.close();
});

/** Every record of one table's partition, in file order. */
async function recordsOf(table: string, day: string): Promise<Json[]> {
  const dir = join(out, table, `dt=${day}`);
  const records: Json[] = [];
  for (const file of (await readdir(dir)).sort())
    records.push(...(await decodeNdjsonGzip<Json>(await readFile(join(dir, file)))));
  return records;
}

const withoutMetadata = (record: Json): Json =>
  Object.fromEntries(Object.entries(record).filter(([key]) => !['_run_id', '_archived_at', '_page'].includes(key)));
const threadIdOf = (entry: Json) => (entry['thread'] as Json)['id'] as string;
const byThread = (entries: Json[]) => [...entries].sort((a, b) => threadIdOf(a).localeCompare(threadIdOf(b)));

describe('the v3.6 lake loses nothing the simulator served', () => {
  it('chat_threads holds every list_archives entry, every value as served, each once', async () => {
    let compared = 0;
    for (const day of DAYS) {
      // As served: the simulator's entries through JSON, exactly what the client received.
      const served = JSON.parse(JSON.stringify(sim.archives(day))) as Json[];
      const stored = (await recordsOf('archives', day)).map((record) =>
        fromLakeRecord(withoutMetadata(record), THREAD_SCHEMA),
      );
      expect(byThread(stored)).toEqual(byThread(served));
      compared += served.length;
    }
    expect(compared).toBe(180);
  });

  it('chats holds each entry mapped, row for row with chat_threads, and both pass the strict readers', async () => {
    for (const day of DAYS) {
      const served = JSON.parse(JSON.stringify(sim.archives(day))) as Archive[];
      const expected = served.map((entry) => archiveToLakeChat(entry));
      const rows = await recordsOf('chats', day);
      const sortById = (list: Json[]) => [...list].sort((a, b) => String(a['id']).localeCompare(String(b['id'])));
      expect(sortById(rows.map(withoutMetadata))).toEqual(sortById(expected));
      for (const record of await recordsOf('archives', day))
        expect(findSchemaViolations(record, THREAD_SCHEMA)).toEqual([]);
      for (const record of rows) expect(findSchemaViolations(record)).toEqual([]);
    }
    const lake = await openLocalLake(out, { strict: true });
    try {
      const [counts] = await lake.query<Json>(
        `SELECT (SELECT count(*) FROM chats) AS chats, (SELECT count(*) FROM chat_threads) AS threads,
                (SELECT count(*) FROM chats c JOIN chat_threads t ON c.id = t.thread.id AND c.dt = t.dt) AS joined`,
      );
      expect(counts).toEqual({ chats: 180, threads: 180, joined: 180 });
      const perDay = await lake.query<Json>('SELECT dt, count(*) AS n FROM chat_threads GROUP BY dt ORDER BY dt');
      expect(perDay).toEqual(DAYS.map((day) => ({ dt: day, n: day === BUSY ? 90 : 45 })));
      const details = await lake.runNamed('thread_tags_and_summaries', ALL_DAYS);
      const served = DAYS.flatMap((day) => sim.archives(day));
      expect(details).toHaveLength(180);
      const servedComments = served
        .map((entry) => (entry.thread['properties'] as { rating?: { comment?: string } }).rating?.comment ?? null)
        .sort();
      expect(details.map((row) => row['rating_comment']).sort()).toEqual(servedComments);
      expect(details.filter((row) => row['tags'] !== null).length).toBe(served.filter((e) => e.thread['tags']).length);
      expect(details.some((row) => String(row['summary']).startsWith('• '))).toBe(true);
    } finally {
      await lake.close();
    }
  });
});
