/**
 * The v3.6 face of the simulator's synthetic chats: each v2 chat of the ChatStore becomes one
 * list_archives entry (a chat with one thread), shaped as the Agent Chat Web API v3.6 docs
 * describe (chat → users, thread → events, properties, access). The thread id is the v2 chat
 * id, so a lake archived from either face holds the same ids.
 */
import { fileDescription } from './attachment-files.ts';
import type { Chat, ChatMessage, Person } from './synthetic-chats.ts';

export type V36Archive = Record<string, unknown> & {
  id: string;
  thread: Record<string, unknown> & { id: string; created_at: string };
};

/** RFC 3339 UTC with microseconds, as the v3.6 API formats `created_at`. */
export function rfc3339Micro(ts: number): string {
  return new Date(ts * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const RATING_COMMENTS = { rated_good: 'Very helpful, thanks!', rated_bad: 'Took too long to answer.' } as const;

export function v36ChatIdOf(threadId: string): string {
  return `C${threadId.slice(1)}`;
}

/** A `file` event as documented: always name, url, content_type; thumbnails, size, width, height, alternative_text only for images. */
function fileEvent(url: string, ts: number, authorId: string): Record<string, unknown> {
  const { name, contentType, image } = fileDescription(url);
  return {
    created_at: rfc3339Micro(ts),
    visibility: 'all',
    type: 'file',
    author_id: authorId,
    name,
    url,
    content_type: contentType,
    ...(image
      ? {
          thumbnail_url: `${url}?thumbnail=1`,
          thumbnail2x_url: `${url}?thumbnail=2`,
          size: image.size,
          width: image.width,
          height: image.height,
          alternative_text: name,
        }
      : {}),
  };
}

export function toV36Archive(chat: Chat): V36Archive {
  const visitorId = String(chat['visitor_id']);
  const agents = (chat['agents'] as Person[] | undefined) ?? [];
  const supervisors = (chat['supervisors'] as Person[] | undefined) ?? [];
  const messages = (chat['messages'] as ChatMessage[] | undefined) ?? [];
  const prechat = chat['prechat_survey'] as Array<{ key: string; value: string; id: string }> | undefined;
  const customVariables = chat['custom_variables'] as Array<{ key: string; value: string }> | undefined;
  const group = (chat['group'] as number[] | undefined) ?? [0];
  const rate = chat['rate'];
  const startedTs = chat.started_timestamp;
  const endedTs = Number(chat['ended_timestamp']);
  const threadId = chat.id;

  const agentUser = (person: Person) => ({
    id: person.email,
    name: person.display_name,
    email: person.email,
    type: 'agent',
    present: false,
    avatar: 'https://cdn.livechat-files.com/api/file/avatar.png',
    visibility: 'all',
  });
  const users = [
    {
      id: visitorId,
      name: String(chat['visitor_name']),
      type: 'customer',
      present: false,
      created_at: rfc3339Micro(startedTs),
      ...(customVariables ? { session_fields: customVariables.map(({ key, value }) => ({ [key]: value })) } : {}),
    },
    ...agents.map(agentUser),
    ...supervisors.filter((s) => !agents.some((a) => a.email === s.email)).map(agentUser),
  ];

  const tags = [...(chat['goals'] ? ['sales'] : []), ...(rate === 'rated_bad' ? ['complaint'] : [])];

  let n = 0;
  const eventId = () => `${threadId}_${++n}`;
  const events: Array<Record<string, unknown>> = [];
  if (prechat) {
    events.push({
      id: eventId(),
      created_at: rfc3339Micro(startedTs),
      visibility: 'all',
      type: 'filled_form',
      author_id: visitorId,
      form_id: 'prechat-form',
      form_type: 'prechat',
      fields: prechat.map((field) => ({ type: 'question', id: field.id, label: field.key, answer: field.value })),
    });
  }
  // Messages and files in time order (a v2 attachment event's URLs become `file` events, Agent Chat API v3.6 data structures, "File").
  const timed: Array<{ ts: number; event: Record<string, unknown> }> = messages.map((message) => ({
    ts: message.timestamp,
    event: {
      created_at: rfc3339Micro(message.timestamp),
      visibility: 'all',
      type: 'message',
      text: message.text,
      author_id: message.user_type === 'visitor' ? visitorId : (message.agent_id ?? ''),
    },
  }));
  for (const attachment of (chat['events'] as Array<Record<string, unknown>> | undefined) ?? []) {
    if (attachment['type'] !== 'attachment') continue;
    for (const url of (attachment['files'] as string[] | undefined) ?? []) {
      timed.push({
        ts: Number(attachment['timestamp']),
        event: fileEvent(url, Number(attachment['timestamp']), visitorId),
      });
    }
  }
  timed.sort((a, b) => a.ts - b.ts);
  for (const { event } of timed) events.push({ id: eventId(), ...event });
  events.push({
    id: eventId(),
    created_at: rfc3339Micro(endedTs),
    visibility: 'all',
    type: 'system_message',
    text: 'Chat archived',
    system_message_type: 'manual_archived_customer',
  });

  return {
    id: v36ChatIdOf(threadId),
    users,
    thread: {
      id: threadId,
      active: false,
      user_ids: [visitorId, ...agents.map((agent) => agent.email)],
      events,
      properties: {
        routing: { continuous: false, idle: false },
        ...(rate === 'rated_good' || rate === 'rated_bad'
          ? { rating: { score: rate === 'rated_good' ? 1 : 0, comment: RATING_COMMENTS[rate] } }
          : {}),
      },
      access: { group_ids: group },
      created_at: rfc3339Micro(startedTs),
      // Documented as present only when the thread was tagged / summarized.
      ...(tags.length ? { tags } : {}),
      ...(agents[0]
        ? {
            summary: {
              status: 'ok',
              text: `• ${agents[0].display_name} answered ${String(chat['visitor_name'])} in ${messages.length} messages.`,
              updated_at: rfc3339Micro(endedTs),
            },
          }
        : {}),
    },
    properties: { routing: { continuous: false } },
    access: { group_ids: group },
    is_followed: false,
  };
}
