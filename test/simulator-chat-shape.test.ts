import { describe, expect, it } from 'vitest';
import { CHAT_SCHEMA, findSchemaViolations } from '#lake/chat-columns.ts';
import { ChatStore } from '#simulator/index.ts';

// The simulator's chats against the documented v2 chat object (LiveChat's v2 reference, "Get
// list of chats"; shared/notes/livechat-api-facts.md section 1) and its "Additional info" table.
const DAY = '2026-03-10';
const chats = new ChatStore({ seed: 5, from: DAY, to: DAY, chatsPerDay: () => 500 }).dayChats(DAY);
const share = (test: (chat: Record<string, unknown>) => boolean) => chats.filter(test).length / chats.length;

describe('simulated chats have the documented v2 shape', () => {
  it('carry every column of the table except pending and tickets (never sent without include_pending, undocumented)', () => {
    const seen = new Set(chats.flatMap((chat) => Object.keys(chat)));
    const columns = CHAT_SCHEMA.map((f) => f.name).filter((name) => !name.startsWith('_'));
    expect(columns.filter((name) => !seen.has(name))).toEqual(['pending', 'tickets']);
    for (const chat of chats) {
      expect(findSchemaViolations({ ...chat, _run_id: 'r', _archived_at: 'a', _page: 1 }), chat.id).toEqual([]);
    }
  });

  it('send the "only if" fields only sometimes, as documented', () => {
    for (const name of ['referrer', 'queue', 'goals', 'custom_variables', 'integration_variables', 'postchat_survey']) {
      const present = share((chat) => name in chat);
      expect(present, name).toBeGreaterThan(0);
      expect(present, name).toBeLessThan(0.8);
    }
    for (const name of ['visitor', 'chat_start_url', 'tags', 'timezone', 'events', 'engagement']) {
      expect(
        share((chat) => name in chat),
        name,
      ).toBe(1);
    }
  });

  it('give goals a date, a timestamp and an order (price a string); sales trackers a type', () => {
    const goals = chats.flatMap((chat) => (chat['goals'] as Array<Record<string, unknown>> | undefined) ?? []);
    expect(goals.length).toBeGreaterThan(0);
    for (const goal of goals) {
      expect(goal).toMatchObject({ date: expect.any(String), timestamp: expect.any(Number) });
      expect(typeof (goal['order'] as { price: unknown }).price).toBe('string');
    }
    expect(goals.some((goal) => goal['type'] === 'sales_tracker')).toBe(true);
  });

  it('list messages, attachments and the closing event in events; missed chats carry the left message', () => {
    const events = chats.flatMap(
      (chat) => chat['events'] as Array<{ type: string; files?: string[]; event_type?: string }>,
    );
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(['message', 'attachment', 'event']));
    const attachments = events.filter((event) => event.type === 'attachment');
    expect(attachments.every((event) => event.files?.length === 1 || event.files?.length === 2)).toBe(true);
    // URLs of LiveChat's CDN shape (Agent Chat API v3.6 "Upload File"), on the simulator's own host.
    expect(
      attachments
        .flatMap((event) => event.files ?? [])
        .every((url) => /\/api\/file\/lc\/att\/\d+\/[0-9a-f]{32}\/[^/]+$/.test(url)),
    ).toBe(true);
    expect(events.filter((event) => event.type === 'event').every((event) => event.event_type === 'closed')).toBe(true);
    const missed = chats.filter((chat) => chat.type === 'missed_chat');
    expect(missed.length).toBeGreaterThan(0);
    for (const chat of missed) expect(chat).toMatchObject({ time: expect.any(String), message: expect.any(String) });
    expect(chats.filter((chat) => chat.type === 'chat').some((chat) => 'message' in chat)).toBe(false);
  });

  it('make a realistic 25-chat page of 40-70 KB of JSON', () => {
    for (let first = 0; first + 25 <= chats.length; first += 25) {
      const bytes = Buffer.byteLength(JSON.stringify({ chats: chats.slice(first, first + 25), total: 500, pages: 20 }));
      expect(bytes).toBeGreaterThan(40_000);
      expect(bytes).toBeLessThan(70_000);
    }
  });
});

describe('messagesPerChat makes longer conversations (bench pages of ~120 KB)', () => {
  const long = new ChatStore({
    seed: 5,
    from: DAY,
    to: DAY,
    chatsPerDay: () => 100,
    messagesPerChat: { min: 8, max: 14 },
  }).dayChats(DAY);
  const messagesOf = (chat: Record<string, unknown>) => (chat['messages'] as unknown[]).length;

  it('gives every answered chat between min and max messages (a supervisor may add one), missed chats 1..3', () => {
    for (const chat of long) {
      const count = messagesOf(chat);
      if (chat['type'] === 'missed_chat') expect(count).toBeLessThanOrEqual(3);
      else {
        expect(count, chat.id).toBeGreaterThanOrEqual(8);
        expect(count, chat.id).toBeLessThanOrEqual(15);
      }
    }
    expect(
      long.every((chat) => findSchemaViolations({ ...chat, _run_id: 'r', _archived_at: 'a', _page: 1 }).length === 0),
    ).toBe(true);
  });

  it('leaves the default account as it was: 2..5 messages per answered chat (and a supervisor line)', () => {
    const answered = chats.filter((chat) => chat['type'] !== 'missed_chat').map(messagesOf);
    expect(Math.min(...answered)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...answered)).toBeLessThanOrEqual(6);
    const page = (list: readonly Record<string, unknown>[]) => Buffer.byteLength(JSON.stringify(list.slice(0, 25)));
    expect(page(long)).toBeGreaterThan(1.5 * page(chats));
  });
});
