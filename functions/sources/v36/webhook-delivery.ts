import { createHash, timingSafeEqual } from 'node:crypto';
import { type ChatTask, chatTask, LIVECHAT_ID } from '#shared/archive-task.ts';

/**
 * A LiveChat webhook delivery, as the receiver (Lambda function URL or `npm run webhooks`) judges it
 * before anything is queued. LiveChat's webhooks reference (livechat/livechat-public-docs,
 * src/pages/management/webhooks/index.mdx, "chat_deactivated") documents every delivery as a POST
 * whose JSON body is `{webhook_id, secret_key, action, organization_id, payload, additional_data}`,
 * and `chat_deactivated`'s payload as `{chat_id, thread_id, user_id?}`. The only proof of origin is
 * `secret_key` in the body (no signature header), compared here in constant time.
 */
export const MAX_DELIVERY_BYTES = 1024 * 1024;

/** The one action the archiver acts on: a thread closed, so its transcript is final. */
export const CHAT_DEACTIVATED = 'chat_deactivated';

export type DeliveryOutcome = 'accepted' | 'refused' | 'ignored' | 'invalid' | 'too-large';

export interface DeliveryVerdict {
  outcome: DeliveryOutcome;
  /** HTTP status to answer: 200 accepted or ignored, 401/403 refused, 400 invalid, 413 too large. */
  status: number;
  /** One short line for the answer body and the log; never any part of the body or the secret. */
  reason: string;
  /** Accepted only: the chat task to queue. */
  task?: ChatTask;
}

const verdict = (outcome: DeliveryOutcome, status: number, reason: string): DeliveryVerdict => ({
  outcome,
  status,
  reason,
});

/** Equal-length digests compared with timingSafeEqual: neither the secret's length nor its prefix leaks through timing. */
export function secretMatches(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected)) && expected.length > 0;
}

/**
 * Judges one delivery: its size, JSON, `secret_key`, action and ids, in that order (an unauthenticated
 * body learns nothing about what else would be refused). `body` is the raw request body.
 */
export function judgeDelivery(
  body: Uint8Array | string,
  expectedSecret: string,
  timeZone: string,
  now: Date = new Date(),
): DeliveryVerdict {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  if (bytes > MAX_DELIVERY_BYTES) return verdict('too-large', 413, `body over ${MAX_DELIVERY_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'));
  } catch {
    return verdict('invalid', 400, 'body is not JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return verdict('invalid', 400, 'body is not a JSON object');
  const delivery = value as Record<string, unknown>;
  const secret = delivery['secret_key'];
  if (typeof secret !== 'string' || secret === '') return verdict('refused', 401, 'no secret_key');
  if (!secretMatches(secret, expectedSecret)) return verdict('refused', 403, 'wrong secret_key');
  if (delivery['action'] !== CHAT_DEACTIVATED) return verdict('ignored', 200, 'action not archived');
  const payload = delivery['payload'];
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return verdict('invalid', 400, 'no payload');
  const { chat_id: chatId, thread_id: threadId } = payload as Record<string, unknown>;
  if (typeof chatId !== 'string' || !LIVECHAT_ID.test(chatId))
    return verdict('invalid', 400, 'payload.chat_id is not a LiveChat id');
  if (typeof threadId !== 'string' || !LIVECHAT_ID.test(threadId)) {
    return verdict('invalid', 400, 'payload.thread_id is not a LiveChat id');
  }
  return { ...verdict('accepted', 200, 'queued'), task: chatTask(chatId, threadId, timeZone, now) };
}

/** The webhook secret as stored: the plain text, or `{"secretKey": "…"}`. */
export function webhookSecretOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { secretKey?: unknown }).secretKey === 'string') {
      return (parsed as { secretKey: string }).secretKey;
    }
  } catch {
    // plain text
  }
  return text;
}
