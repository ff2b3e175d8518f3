/**
 * What identifies a visitor in a stored chat record, in any table: the visitor id, and every
 * e-mail address written anywhere in the record except the fields that identify agents.
 * Erasure (by raw identifier) and the write path (by salted hash) both match on this one list,
 * so a chat the erase removes is exactly a chat later writes drop.
 */
export type IdentifierKind = 'visitor-id' | 'email';

export interface VisitorIdentifier {
  kind: IdentifierKind;
  /** Normalized: e-mail addresses lower-cased, visitor ids verbatim. */
  value: string;
}

/**
 * An e-mail address inside free text. Greedy on both sides, so `bigjohn@x.com` and
 * `john@x.com.au` are whole tokens that never match `john@x.com`; a sentence's final dot is
 * not part of the domain (a label must follow every dot).
 */
export const EMAIL_IN_TEXT =
  /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/g;

/**
 * Keys whose values identify agents, never the visitor: v2 `agents[]`, `supervisors[]`, a
 * message's `agent_id` (the agent's login e-mail); v3.6 `author_id` (an agent's is its e-mail).
 * Erasing a visitor must not erase every chat an agent served.
 */
const AGENT_KEYS = new Set(['agents', 'supervisors', 'agent_id', 'author_id']);
/** v3.6 user objects of these types are agents (their `id` and `email` are the agent's). */
const AGENT_USER_TYPES = new Set(['agent', 'bot']);

export function normalizeEmail(address: string): string {
  return address.trim().toLowerCase();
}

/** Every visitor identifier of one record, deduplicated. */
export function visitorIdentifiers(record: unknown): VisitorIdentifier[] {
  const ids = new Set<string>();
  const emails = new Set<string>();
  if (isObject(record)) {
    addString(ids, record['visitor_id']);
    if (isObject(record['visitor'])) addString(ids, record['visitor']['id']);
    // v3.6 list_archives entries: the customer user, and its v2 id when LiveChat carries it.
    if (Array.isArray(record['users'])) {
      for (const user of record['users']) {
        if (isObject(user) && user['type'] === 'customer') {
          addString(ids, user['id']);
          addString(ids, user['__priv_lc2_customer_id']);
        }
      }
    }
  }
  collectEmails(record, emails);
  return [
    ...[...ids].map((value): VisitorIdentifier => ({ kind: 'visitor-id', value })),
    ...[...emails].map((value): VisitorIdentifier => ({ kind: 'email', value })),
  ];
}

/** True when the record carries this identifier (`target.value` normalized as above). */
export function recordHasIdentifier(record: unknown, target: VisitorIdentifier): boolean {
  return visitorIdentifiers(record).some((id) => id.kind === target.kind && id.value === target.value);
}

function collectEmails(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    if (value.includes('@')) for (const match of value.matchAll(EMAIL_IN_TEXT)) into.add(normalizeEmail(match[0]));
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectEmails(item, into);
    return;
  }
  if (!isObject(value)) return;
  if (typeof value['type'] === 'string' && AGENT_USER_TYPES.has(value['type'])) return;
  for (const [key, child] of Object.entries(value)) {
    if (!AGENT_KEYS.has(key)) collectEmails(child, into);
  }
}

function addString(into: Set<string>, value: unknown): void {
  if (typeof value === 'string' && value.length > 0) into.add(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
