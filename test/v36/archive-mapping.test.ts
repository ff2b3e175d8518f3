import { describe, expect, it } from 'vitest';
import { findSchemaViolations } from '#lake/chat-columns.ts';
import { type Chat, ChatStore } from '#simulator/index.ts';
import { toV36Archive } from '#simulator/v36-archives.ts';
import { archiveToLakeChat, formatV2Date, unixSeconds } from '#sources/v36/archive-mapping.ts';
import { archiveSchema } from '#sources/v36/archive-schema.ts';

const DAY = '2026-03-10';
const chats = new ChatStore({ seed: 21, from: DAY, to: DAY, chatsPerDay: () => 300 }).dayChats(DAY);

/** Fields of the documented v2 chat beyond the seed example, which the mapping does not produce. */
const NOT_MAPPED = [
  'visitor_ip',
  'visitor',
  'chat_start_url',
  'referrer',
  'postchat_survey',
  'queue',
  'tags',
  'timezone',
  'events',
  'engagement',
  'time',
  'email',
  'message',
];

/** The v2 fields the mapping promises to reproduce (goals, supervisors and integration variables have no v3.6 field). */
function v2View(chat: Chat): Record<string, unknown> {
  const { goals: _g, supervisors: _s, integration_variables: _i, ...rest } = chat as Record<string, unknown>;
  return Object.fromEntries(Object.entries(rest).filter(([key]) => !NOT_MAPPED.includes(key)));
}

describe('v3.6 archive → v2 lake columns', () => {
  it('reproduces every mapped v2 field of 300 synthetic chats (chats without a supervisor)', () => {
    const plain = chats.filter((chat) => !chat['supervisors']);
    expect(plain.length).toBeGreaterThan(200);
    for (const chat of plain) {
      const mapped = archiveToLakeChat(archiveSchema.parse(toV36Archive(chat)));
      expect(mapped, chat.id).toEqual(v2View(chat));
    }
  });

  it('covers missed chats, ratings, pre-chat surveys and custom variables', () => {
    const mapped = chats.map((chat) => archiveToLakeChat(archiveSchema.parse(toV36Archive(chat))));
    expect(new Set(mapped.map((chat) => chat['type']))).toEqual(new Set(['chat', 'missed_chat']));
    expect(new Set(mapped.map((chat) => chat['rate']))).toEqual(new Set(['not_rated', 'rated_good', 'rated_bad']));
    expect(mapped.some((chat) => chat['prechat_survey'])).toBe(true);
    expect(mapped.some((chat) => chat['custom_variables'])).toBe(true);
  });

  it('maps a supervisor message as an agent message (v3.6 users are agents or customers)', () => {
    const chat = chats.find((c) => c['supervisors'])!;
    const mapped = archiveToLakeChat(archiveSchema.parse(toV36Archive(chat)));
    const types = (mapped['messages'] as Array<{ user_type: string }>).map((m) => m.user_type);
    expect(types).not.toContain('supervisor');
    expect(mapped['agents']).toEqual(chat['agents']);
  });

  it('passes the strict lake schema with the archiver metadata', () => {
    for (const chat of chats) {
      const record = {
        ...archiveToLakeChat(archiveSchema.parse(toV36Archive(chat))),
        _run_id: 'r',
        _archived_at: 'now',
        _page: 1,
      };
      expect(findSchemaViolations(record)).toEqual([]);
    }
  });

  it('reads the documented sample (microsecond timestamps, no customer, rating absent)', () => {
    const sample = archiveSchema.parse({
      id: 'PJ0MRSHTDG',
      users: [
        { id: 'smith@example.com', name: 'Agent Smith', email: 'smith@example.com', type: 'agent', present: true },
      ],
      thread: {
        id: 'K600PKZON8',
        active: false,
        user_ids: ['smith@example.com'],
        events: [
          {
            id: 'QBT14H0Y3Y_1',
            created_at: '2020-05-28T11:45:32.269000Z',
            visibility: 'all',
            type: 'message',
            text: 'Hello there',
            author_id: 'smith@example.com',
          },
        ],
        properties: { '0805e283233042b37f460ed8fbf22160': { thread_property: 'property_value' } },
        access: { group_ids: [0] },
        created_at: '2020-05-28T11:44:58.829000Z',
      },
      access: { group_ids: [0] },
      is_followed: false,
    });
    const mapped = archiveToLakeChat(sample);
    expect(mapped).toMatchObject({
      id: 'K600PKZON8',
      type: 'chat',
      rate: 'not_rated',
      group: [0],
      started_timestamp: unixSeconds('2020-05-28T11:44:58Z'),
      ended_timestamp: unixSeconds('2020-05-28T11:45:32Z'),
      duration: 34,
      agents: [{ display_name: 'Agent Smith', email: 'smith@example.com' }],
    });
    expect(formatV2Date(unixSeconds('2013-01-23T11:40:53.000000Z'))).toBe('Wed, 01/23/13 11:40:53 am');
    expect(findSchemaViolations({ ...mapped, _run_id: 'r', _archived_at: 'now', _page: 1 })).toEqual([]);
  });
});
