import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { TASK_VERSION } from '#shared/archive-task.ts';
import type { ChatList } from '#sources/v2/livechat-schema.ts';
import { writePage } from '#sources/v2/page-archiver.ts';
import { DOC_CHAT } from './fixtures/v2-doc-chat.ts';

// The documented v2 example chat (fixtures/v2-doc-chat.ts names its doc file), written by the
// real page writer and read back through the strict DuckDB view: every documented field is a
// typed column, nothing is unknown.
describe('the documented v2 chat object in the lake', () => {
  let lake: LocalLake;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-'));
    // Not in the docs' example: a missed chat with its left message, shaped as real clients of the
    // API read it (shared/notes/livechat-api-facts.md section 1: Pathlight/tap-livechat schemas/chats.json).
    const missed = {
      type: 'missed_chat',
      id: 'MISSED0001',
      visitor: DOC_CHAT.visitor,
      time: 'Wed, 01/23/13 11:45:00 am',
      email: 'mary.brown@email.com',
      message: 'Please call me back about my order.',
      tags: [],
      pending: false,
    };
    const list = { chats: [DOC_CHAT, missed], total: 2, pages: 1 } as unknown as ChatList;
    const task = {
      v: TASK_VERSION,
      kind: 'page',
      plan: 'p1',
      runId: 'run-doc',
      day: '2013-01-23',
      attempt: 1,
      filters: {},
      timeZone: 'UTC',
      page: 1,
      pages: 1,
      total: 2,
    } as const;
    const outcome = await writePage(task, list, { sink: new LocalFileSink(dir), now: () => new Date() });
    expect(outcome.status).toBe('written');
    lake = await openLocalLake(dir, { strict: true });
  });
  afterAll(async () => lake?.close());

  it('reads the nested visitor, tags, queue, post-chat survey and engagement', async () => {
    expect(
      await lake.query(
        `SELECT visitor.country_code AS country, visitor.timezone AS tz, tags, queue.duration AS queued_s,
                postchat_survey[1].value AS rating, engagement, referrer, chat_start_url
         FROM chats WHERE id = 'MH022RD0K5'`,
      ),
    ).toEqual([
      {
        country: 'HK',
        tz: 'Asia/Hong_Kong',
        tags: ['sales', 'support', 'feedback'],
        queued_s: 20,
        rating: 'Good',
        engagement: 'immediate_start',
        referrer: 'https://example.com',
        chat_start_url: 'https://livechatinc.com',
      },
    ]);
  });

  it('keeps a sale: goal type, date and the order price as a string', async () => {
    const rows = await lake.query(
      `SELECT g.item.name AS name, g.item.type AS type, g.item."timestamp" AS ts, g.item."order".price AS price,
              g.item."order".currency AS currency
       FROM chats CROSS JOIN UNNEST(goals) AS g (item) ORDER BY name`,
    );
    expect(rows).toEqual([
      { name: 'goal_name', type: null, ts: 1358937653, price: '0', currency: '' },
      { name: 'sales_tracker_name', type: 'sales_tracker', ts: 1358937653, price: '199', currency: 'CZK' },
    ]);
  });

  it('types the events: messages, attachments with files, and the closing event', async () => {
    const rows = await lake.query(
      `SELECT e.item.type AS type, e.item.files AS files, e.item.event_type AS event_type
       FROM chats CROSS JOIN UNNEST(events) WITH ORDINALITY AS e (item, n) ORDER BY n`,
    );
    expect(rows.map((row) => row['type'])).toEqual(['message', 'attachment', 'message', 'message', 'event']);
    expect(rows[1]).toMatchObject({ files: ['https://static.livechatinc.com/.../hello.JPG'] });
    expect(rows[4]).toMatchObject({ event_type: 'closed' });
  });

  it("keeps a missed chat's left message", async () => {
    expect(await lake.query(`SELECT time, email, message, pending FROM chats WHERE type = 'missed_chat'`)).toEqual([
      {
        time: 'Wed, 01/23/13 11:45:00 am',
        email: 'mary.brown@email.com',
        message: 'Please call me back about my order.',
        pending: false,
      },
    ]);
  });
});
