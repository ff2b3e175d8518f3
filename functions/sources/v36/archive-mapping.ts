import type { Archive, ArchiveEvent, ArchiveUser } from './archive-schema.ts';

/**
 * Maps one v3.6 list_archives entry (a chat with ONE thread) onto the v2 `chats` columns
 * (functions/lake/chat-columns.ts), so the Glue table, its named queries and the strict DuckDB
 * view read v3.6 data unchanged. One lake row = one thread, the unit v2 called a chat.
 *
 * | lake column        | from v3.6                                                                 |
 * | ------------------ | ------------------------------------------------------------------------- |
 * | id                 | thread.id (a v3.6 chat id repeats across threads; a thread is one conversation, as a v2 chat) |
 * | type               | 'chat' if an agent took part (see agents), else 'missed_chat' (no agent joined) |
 * | visitor_name/_id   | the `customer` user's name / id                                           |
 * | agents             | `agent` users in thread.user_ids (or any agent user if user_ids is absent): {display_name: name, email} |
 * | rate               | thread.properties.rating.score: 1 → rated_good, 0 → rated_bad, else not_rated |
 * | duration           | ended_timestamp − started_timestamp                                       |
 * | group              | thread.access.group_ids, else chat.access.group_ids                       |
 * | started / ended    | the timestamps below in the v2 text format, UTC ('Wed, 01/23/13 11:40:53 am') |
 * | started_timestamp  | thread.created_at, Unix seconds                                           |
 * | ended_timestamp    | created_at of the thread's last event (v3.6 has no thread end field), else started |
 * | messages           | `message` events in order, deleted-event stubs left out: author_name = user name, text, date, timestamp, user_type 'visitor' (customer) or 'agent', agent_id = agent email (v2 used the login e-mail) |
 * | prechat_survey     | fields of `filled_form` events with form_type 'prechat': key = label, value = answer (or answer.label; checkbox `answers`: labels joined by ', '), id |
 * | custom_variables   | the customer's session_fields ([{key: value}] → [{key, value}])           |
 * | goals, supervisors, integration_variables | not mapped: list_archives documents no such fields (left absent, as v2 does when empty) |
 *
 * Nothing is lost by this projection: the whole entry is stored in `chat_threads`
 * (functions/lake/thread-columns.ts), and the slice writer derives each `chats` row from that
 * stored record with this function, so the two tables cannot disagree.
 */
export function archiveToLakeChat(archive: Archive): Record<string, unknown> {
  const { thread } = archive;
  const allUsers = archive.users ?? [];
  const users = new Map<string, ArchiveUser>(allUsers.map((user) => [user.id, user]));
  const customer = allUsers.find((user) => user.type === 'customer');
  const inThread = thread.user_ids ? new Set(thread.user_ids) : undefined;
  const agents = allUsers
    .filter((user) => user.type === 'agent' && (!inThread || inThread.has(user.id)))
    .map((user) => ({ display_name: user.name ?? user.id, email: user.email ?? user.id }));
  const events = thread.events ?? [];
  const messages = events
    .filter((event) => event.type === 'message' && event.deleted !== true)
    .map((event) => toMessage(event, users));
  const startedTs = unixSeconds(thread.created_at);
  const endedTs = Math.max(startedTs, ...events.map((event) => unixSeconds(event.created_at)));
  const prechat = events
    .filter((event) => event.type === 'filled_form' && event.form_type === 'prechat')
    .flatMap((event) => event.fields ?? [])
    .map((field) => ({
      key: field.label ?? '',
      value: answerText(field.answer ?? field['answers']),
      id: field.id ?? '',
    }));
  const customVariables = (customer?.session_fields ?? []).flatMap((entry) =>
    Object.entries(entry).map(([key, value]) => ({
      key,
      value: typeof value === 'string' ? value : JSON.stringify(value),
    })),
  );
  const groups = thread.access?.group_ids ?? archive.access?.group_ids;

  return {
    type: agents.length > 0 ? 'chat' : 'missed_chat',
    id: thread.id,
    ...(customer?.name !== undefined ? { visitor_name: customer.name } : {}),
    ...(customer ? { visitor_id: customer.id } : {}),
    agents,
    rate: rateOf(propertyOf(thread.properties, 'rating', 'score')),
    duration: endedTs - startedTs,
    ...(groups ? { group: groups } : {}),
    started: formatV2Date(startedTs),
    ...(prechat.length ? { prechat_survey: prechat } : {}),
    ...(customVariables.length ? { custom_variables: customVariables } : {}),
    messages,
    started_timestamp: startedTs,
    ended_timestamp: endedTs,
    ended: formatV2Date(endedTs),
  };
}

function toMessage(event: ArchiveEvent, users: Map<string, ArchiveUser>) {
  const author = event.author_id ? users.get(event.author_id) : undefined;
  const timestamp = unixSeconds(event.created_at);
  const isAgent = author?.type === 'agent';
  return {
    author_name: author?.name ?? event.author_id ?? '',
    text: event.text ?? '',
    date: formatV2Date(timestamp),
    timestamp,
    user_type: isAgent ? 'agent' : 'visitor',
    ...(isAgent ? { agent_id: author.email ?? author.id } : {}),
  };
}

function rateOf(score: unknown): string {
  if (score === 1 || score === '1') return 'rated_good';
  if (score === 0 || score === '0') return 'rated_bad';
  return 'not_rated';
}

function propertyOf(properties: Record<string, unknown> | undefined, namespace: string, name: string): unknown {
  const values = properties?.[namespace];
  return values && typeof values === 'object' ? (values as Record<string, unknown>)[name] : undefined;
}

/** A form answer as text: a string as is, `{id, label}` as its label, checkbox `answers` as their labels joined by ", ". */
function answerText(answer: unknown): string {
  if (typeof answer === 'string') return answer;
  if (Array.isArray(answer)) return answer.map(answerText).join(', ');
  if (answer && typeof answer === 'object' && 'label' in answer) return String((answer as { label: unknown }).label);
  return answer === undefined || answer === null ? '' : JSON.stringify(answer);
}

/** Unix seconds of an RFC 3339 time with up to microsecond fractions ("2020-05-28T11:45:32.269000Z"). */
export function unixSeconds(rfc3339: string): number {
  const ms = Date.parse(rfc3339.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(ms)) throw new Error(`not an RFC 3339 time: ${rfc3339.slice(0, 40)}`);
  return Math.floor(ms / 1000);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** The v2 `started`/`ended`/message `date` text format, in UTC: "Wed, 01/23/13 11:40:53 am". */
export function formatV2Date(ts: number): string {
  const d = new Date(ts * 1000);
  const h24 = d.getUTCHours();
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  return (
    `${WEEKDAYS[d.getUTCDay()]}, ${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCFullYear() % 100)} ` +
    `${pad2(h12)}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} ${h24 < 12 ? 'am' : 'pm'}`
  );
}
