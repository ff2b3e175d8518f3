import { MISTYPED_FIELD, restoreMistyped } from '#lake/mistyped-values.ts';
import { EXTRA_FIELD } from '#lake/thread-columns.ts';

/**
 * What identifies a visitor in a stored chat record, in any table: the visitor id, and every
 * e-mail address written anywhere in the record except the fields that identify agents.
 * Erasure (by raw identifier) and the write path (by salted hash) both match on this one list,
 * so a chat the erase removes is exactly a chat later writes drop. A stored record is read with
 * its `_mistyped` values back in place (type drift moves a value that does not fit its column
 * there, mistyped-values.ts), so an identifier that drifted is found where LiveChat sent it.
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
export function visitorIdentifiers(stored: unknown): VisitorIdentifier[] {
  const record = asSent(stored);
  const ids = new Set<string>();
  const emails = new Set<string>();
  if (isObject(record)) {
    addId(ids, record['visitor_id']);
    // A visitor sent as its bare id (a string where the object is documented) is that id.
    addId(ids, isObject(record['visitor']) ? record['visitor']['id'] : record['visitor']);
    // v3.6 list_archives entries: the customer user, and its v2 id when LiveChat carries it.
    if (Array.isArray(record['users'])) {
      for (const storedUser of record['users']) {
        // A stored v3.6 user keeps what does not fit its columns in `_extra` (lossless-record.ts).
        const user = withExtra(storedUser);
        if (isObject(user) && user['type'] === 'customer') {
          addId(ids, user['id']);
          addId(ids, user['__priv_lc2_customer_id']);
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

/** An id that drifted to a number is the same id: `--visitor-id 4815162342` finds `"visitor_id": 4815162342`. */
function addId(into: Set<string>, value: unknown): void {
  if (typeof value === 'string' && value.length > 0) into.add(value);
  else if (typeof value === 'number' && Number.isFinite(value)) into.add(String(value));
}

/** A stored object with the fields it kept in `_extra` back beside the others. */
function withExtra(value: unknown): unknown {
  if (!isObject(value) || typeof value[EXTRA_FIELD] !== 'string') return value;
  try {
    return { ...value, ...(JSON.parse(value[EXTRA_FIELD]) as Record<string, unknown>) };
  } catch {
    return value;
  }
}

/**
 * The record with its set-aside values back where LiveChat sent them. A `_mistyped` that cannot
 * be restored is searched as text instead (its e-mail addresses are still found).
 */
function asSent(record: unknown): unknown {
  if (!isObject(record) || typeof record[MISTYPED_FIELD] !== 'string') return record;
  try {
    return restoreMistyped(record);
  } catch {
    return record;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
