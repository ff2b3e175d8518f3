import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import type { LivechatClient } from '#sources/v2/livechat-client.ts';
import { archivePage } from '#sources/v2/page-archiver.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import {
  type ArchivedPage,
  EXPECTED_ROWS,
  expectRows,
  FIXTURE_WINDOW,
  writeFixtureLake,
} from './fixtures/chat-lake.ts';

/** Writes a fixture page through the real page archiver, as if the API had served it. */
async function writeWithPageArchiver(lakeDir: string, page: ArchivedPage): Promise<void> {
  const total = (page.page - 1) * 25 + page.chats.length;
  const client: LivechatClient = {
    listChats: async () => ({ chats: page.chats as never, total, pages: page.page }),
  };
  const outcome = await archivePage(
    {
      v: 1,
      kind: 'page',
      plan: 'p1',
      runId: page.runId,
      day: page.dt,
      attempt: 1,
      filters: {},
      timeZone: 'UTC',
      page: page.page,
      pages: page.page,
      total,
    },
    { client, sink: new LocalFileSink(lakeDir), now: () => new Date(page.archivedAt) },
  );
  expect(outcome.status).toBe('written');
}

describe('the Glue columns read what the real page writer writes', () => {
  let lake: LocalLake;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-'));
    await writeFixtureLake(dir, writeWithPageArchiver);
    lake = await openLocalLake(dir, { strict: true }); // unknown fields or type mismatches fail
  });
  afterAll(async () => lake?.close());

  it.each(Object.entries(EXPECTED_ROWS))('%s returns the expected rows', async (name, expected) => {
    expectRows(await lake.runNamed(name, FIXTURE_WINDOW), expected);
  });
});

describe('named queries over a lake archived from the simulator', () => {
  const days = ['2026-04-01', '2026-04-02', '2026-04-03', '2026-04-04'];
  let sim: RunningSimulator;
  let lake: LocalLake;

  beforeAll(async () => {
    sim = await startSimulator({ from: days[0]!, to: days.at(-1)!, seed: 11 });
    const { out, manifest } = await archiveLocally(sim, days);
    expect(manifest.complete).toBe(true);
    lake = await openLocalLake(out, { strict: true });
  });
  afterAll(async () => {
    await lake?.close();
    await sim?.close();
  });

  it.each(NAMED_QUERIES.map((query) => [query.name]))('%s runs on strictly typed real files', async (name) => {
    const rows = await lake.runNamed(name, ALL_DAYS);
    expect(Array.isArray(rows)).toBe(true);
  });

  it('chats per day and missed chats match the simulator', async () => {
    const rows = await lake.runNamed('chats_per_day', ALL_DAYS);
    expect(rows.map((row) => [String(row.dt), Number(row.total_chats), Number(row.missed_chats)])).toEqual(
      days.map((day) => [
        day,
        sim.chats(day).length,
        sim.chats(day).filter((chat) => chat.type === 'missed_chat').length,
      ]),
    );
  });

  it('rating share matches the simulator', async () => {
    const chats = sim.allChats().filter((chat) => chat.type === 'chat');
    const count = (rate: string) => chats.filter((chat) => chat.rate === rate).length;
    const expected = {
      bad: count('rated_bad'),
      good: count('rated_good'),
      not_rated: chats.length - count('rated_bad') - count('rated_good'),
    };
    const rows = await lake.runNamed('rating_share', ALL_DAYS);
    expect(Object.fromEntries(rows.map((row) => [row.rating, Number(row.chats)]))).toEqual(expected);
  });

  it('chats per agent per day match the simulator', async () => {
    const expected = new Map<string, number>();
    for (const chat of sim.allChats()) {
      const day = new Date(chat.started_timestamp * 1000).toISOString().slice(0, 10);
      for (const email of new Set((chat.agents as Array<{ email: string }>).map((agent) => agent.email))) {
        expected.set(`${day} ${email}`, (expected.get(`${day} ${email}`) ?? 0) + 1);
      }
    }
    const rows = await lake.runNamed('chats_per_agent_per_day', ALL_DAYS);
    expect(new Map(rows.map((row) => [`${String(row.dt)} ${String(row.agent_email)}`, Number(row.chats)]))).toEqual(
      expected,
    );
  });
});
