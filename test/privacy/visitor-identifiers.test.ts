import { describe, expect, it } from 'vitest';
import { toLakeRecord } from '#lake/lossless-record.ts';
import { setAsideMistyped } from '#lake/mistyped-values.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { recordHasIdentifier, visitorIdentifiers } from '#privacy/visitor-identifiers.ts';
import { SEED_CHAT } from '#test/lake/fixtures/seed-chat.ts';

// Chat shapes: the seed's example chat (shared/seed/livechat-rest-api-v2-list-chats.txt), the
// documented `visitor{}` object and missed-chat left messages (shared/notes/livechat-api-facts.md,
// section 1), and a v3.6 list_archives entry's users (section 4, "Users").
const email = (value: string) => ({ kind: 'email', value }) as const;
const visitorId = (value: string) => ({ kind: 'visitor-id', value }) as const;

describe('visitor identifiers of a stored chat', () => {
  it('finds the v2 visitor id and the e-mail in integration variables; agents and supervisors are not the visitor', () => {
    const ids = visitorIdentifiers(SEED_CHAT);
    expect(ids).toContainEqual(visitorId('S1355415390.49b8940793'));
    expect(ids).toContainEqual(email('mary.brown@email.com'));
    expect(ids).not.toContainEqual(email('john.doe@mycompany.com'));
    expect(ids).not.toContainEqual(email('jane.doe@mycompany.com'));
  });

  it('reads visitor.id, pre-chat and post-chat answers, a left message e-mail and free text, case-insensitively', () => {
    const chat = {
      id: 'X1',
      visitor: { id: 'S1.abc', name: 'Ann', ip: '10.0.0.1' },
      prechat_survey: [{ key: 'E-mail:', value: 'Ann.Lee@Example.COM', id: '1' }],
      postchat_survey: [{ key: 'Anything else?', value: 'write to ann2@example.org please.', id: '2' }],
      messages: [{ author_name: 'Ann', text: 'my backup is ANN3@EXAMPLE.NET', user_type: 'visitor' }],
    };
    const missed = { type: 'missed_chat', id: 'X2', email: 'Left@Example.com', message: 'call me' };
    expect(visitorIdentifiers(chat)).toEqual([
      visitorId('S1.abc'),
      email('ann.lee@example.com'),
      email('ann2@example.org'),
      email('ann3@example.net'),
    ]);
    expect(recordHasIdentifier(missed, email('left@example.com'))).toBe(true);
  });

  it('matches whole addresses only: a longer local part or domain is another address', () => {
    const chat = { id: 'X3', messages: [{ text: 'bigjohn@x.com and john@x.com.au', user_type: 'visitor' }] };
    expect(recordHasIdentifier(chat, email('john@x.com'))).toBe(false);
    expect(recordHasIdentifier(chat, email('bigjohn@x.com'))).toBe(true);
  });

  it('reads the v3.6 customer user (id, e-mail, old v2 id) and skips agent users', () => {
    const archive = {
      id: 'PJ0MRSHTDG',
      users: [
        {
          id: 'b7eff798-f8df-4364-8059-649c35c9ed0c',
          type: 'customer',
          email: 'Customer@Example.com',
          __priv_lc2_customer_id: 'S1.v2',
        },
        { id: 'smith@example.com', type: 'agent', email: 'smith@example.com', visibility: 'all' },
      ],
      thread: { id: 'K600PKZON8', events: [{ type: 'message', author_id: 'smith@example.com', text: 'hi' }] },
    };
    const ids = visitorIdentifiers(archive);
    expect(ids).toEqual([
      visitorId('b7eff798-f8df-4364-8059-649c35c9ed0c'),
      visitorId('S1.v2'),
      email('customer@example.com'),
    ]);
  });

  it("reads a stored record as LiveChat sent it: values set aside in _mistyped (v2) or a user's _extra (v3.6) count", () => {
    // A visitor id sent as a number, the visitor as its bare id: both moved into _mistyped.
    const numeric = setAsideMistyped({ id: 'X4', visitor_id: 4815162342 }).record;
    const bare = setAsideMistyped({ id: 'X5', visitor: 'S1.bare' }).record;
    expect(numeric).toEqual({ id: 'X4', _mistyped: '{"/visitor_id":4815162342}' });
    expect(visitorIdentifiers(numeric)).toEqual([visitorId('4815162342')]);
    expect(visitorIdentifiers(bare)).toEqual([visitorId('S1.bare')]);
    // An agent set aside as a bare address is still an agent, not the visitor.
    const agent = setAsideMistyped({ id: 'X6', agents: ['john.doe@mycompany.com'] }).record;
    expect(agent['_mistyped']).toBe('{"/agents/0":"john.doe@mycompany.com"}');
    expect(visitorIdentifiers(agent)).toEqual([]);
    // v3.6: a customer id that does not fit its string column is kept in the user's _extra.
    const entry = {
      id: 'PJ0MRSHTDG',
      users: [{ id: 90210, type: 'customer' }],
      thread: { id: 'K600PKZON8' },
      _run_id: 'r',
      _archived_at: '2026-01-01T00:00:00.000Z',
      _page: 1,
    };
    const stored = toLakeRecord(entry, THREAD_SCHEMA);
    expect((stored['users'] as Record<string, unknown>[])[0]).toEqual({ type: 'customer', _extra: '{"id":90210}' });
    expect(visitorIdentifiers(stored)).toEqual([visitorId('90210')]);
  });
});
