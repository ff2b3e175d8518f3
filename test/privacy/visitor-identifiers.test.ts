import { describe, expect, it } from 'vitest';
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
});
