import { readFileSync } from 'node:fs';

/**
 * LiveChat's documented v3.6 payload examples (test/fixtures/livechat-public-docs, copied from
 * livechat/livechat-public-docs; see its README.md) assembled into `list_archives` pages.
 */
const ROOT = new URL('../fixtures/livechat-public-docs/', import.meta.url);
const PAYLOADS = 'payloads/messaging/v3.6/agent-chat-api/';

type Json = Record<string, unknown>;

/** One documented example by its path in livechat/livechat-public-docs. */
export function documented(path: string): Json {
  return JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as Json;
}

/** Every documented v3.6 event type, one example each (events/*.json). */
export const DOCUMENTED_EVENT_FILES = [
  'message',
  'file',
  'filledForm',
  'form',
  'richMessage',
  'custom',
  'systemMessage',
  'system',
  'deletedEvent',
].map((name) => `${PAYLOADS}events/${name}.json`);

/** The "List Archives" response example of src/pages/messaging/agent-chat-api/index.mdx, as published. */
export function documentedListArchivesResponse(): Json {
  return documented('src/pages/messaging/agent-chat-api/list-archives-response.json');
}

/**
 * A list_archives entry built from other-structures/chat.json (a chat whose `threads[0]` becomes
 * the entry's one `thread`, as list_archives returns it), its events followed by one example of
 * every event type.
 */
export function chatExampleEntry(): Json {
  const { threads, ...chat } = documented(`${PAYLOADS}other-structures/chat.json`);
  const [thread] = threads as Json[];
  const events = [...((thread!['events'] as Json[]) ?? []), ...DOCUMENTED_EVENT_FILES.map(documented)];
  return { ...chat, thread: { ...thread, events } };
}

/**
 * A list_archives entry from other-structures/thread.json (queue, restricted_access, linked
 * threads) with the documented customer (users/customer.json: visit, session_fields,
 * statistics, carts, omnichannel…) and agent (users/agent.json), and the documented access
 * and properties structures.
 */
export function threadExampleEntry(): Json {
  return {
    id: 'PJ0MRSHTDH',
    users: [documented(`${PAYLOADS}users/customer.json`), documented(`${PAYLOADS}users/agent.json`)],
    thread: documented(`${PAYLOADS}other-structures/thread.json`),
    ...documented(`${PAYLOADS}other-structures/properties.json`),
    ...documented(`${PAYLOADS}other-structures/access.json`),
    is_followed: true,
  };
}
