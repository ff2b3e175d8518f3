import { describe, expect, it } from 'vitest';
import { decodeQueuedTask, decodeTask, encodeTask } from '#shared/archive-task.ts';
import { judgeDelivery, MAX_DELIVERY_BYTES, secretMatches } from '#sources/v36/webhook-delivery.ts';
import { documented } from '#test/support/documented-archives.ts';

/** The documented sample (src/pages/management/webhooks/index.mdx, chat_deactivated) with our secret. */
const SECRET = 's3cr3t-registered-with-the-webhook';
const sample = (): Record<string, unknown> => ({
  ...documented('src/pages/management/webhooks/chat-deactivated-webhook.json'),
  secret_key: SECRET,
});
const NOW = new Date('2026-05-01T10:00:00.000Z');
const judge = (body: unknown) =>
  judgeDelivery(typeof body === 'string' ? body : JSON.stringify(body), SECRET, 'Europe/Warsaw', NOW);

describe('a chat_deactivated delivery', () => {
  it("accepts LiveChat's documented sample: one chat task for its chat and thread, in the lake's zone", () => {
    const verdict = judge(sample());
    expect(verdict).toMatchObject({ outcome: 'accepted', status: 200 });
    expect(verdict.task).toEqual({
      v: 1,
      kind: 'chat',
      runId: 'webhook',
      chatId: 'PJ0MRSHTDG',
      threadId: 'K600PKZON8',
      timeZone: 'Europe/Warsaw',
      receivedAt: NOW.toISOString(),
    });
    expect(decodeQueuedTask(encodeTask(verdict.task!))).toEqual(verdict.task);
  });

  it('accepts a delivery without user_id (a thread the router closed) and ignores additional_data', () => {
    const body = sample();
    const { user_id: _, ...payload } = body['payload'] as Record<string, unknown>;
    expect(judge({ ...body, payload, additional_data: { chat_properties: { a: { b: 1 } } } }).outcome).toBe('accepted');
  });

  it.each([
    ['a wrong secret_key', { secret_key: 'not-the-secret' }, 403],
    ['a secret_key one character longer', { secret_key: `${SECRET}x` }, 403],
    ['no secret_key', { secret_key: undefined }, 401],
    ['an empty secret_key', { secret_key: '' }, 401],
    ['a non-string secret_key', { secret_key: 42 }, 401],
  ])('refuses %s (%s)', (_, overrides, status) => {
    const verdict = judge({ ...sample(), ...overrides });
    expect(verdict).toMatchObject({ outcome: 'refused', status });
    expect(verdict.task).toBeUndefined();
    expect(verdict.reason).not.toContain(SECRET);
  });

  it('checks the secret before the ids: a wrong secret with bad ids is refused, not judged invalid', () => {
    const verdict = judge({ ...sample(), secret_key: 'nope', payload: { chat_id: '../x', thread_id: '..' } });
    expect(verdict.status).toBe(403);
  });

  it.each(['incoming_chat', 'chat_access_updated', 'incoming_event', 'chat_properties_updated', undefined])(
    'answers 200 and queues nothing for action %s',
    (action) => {
      const verdict = judge({ ...sample(), action });
      expect(verdict).toMatchObject({ outcome: 'ignored', status: 200 });
      expect(verdict.task).toBeUndefined();
    },
  );

  it.each([
    ['not JSON', '{"secret_key": "s3', 400],
    ['a JSON array', '[]', 400],
    ['JSON null', 'null', 400],
  ])('answers 400 to a body that is %s', (_, body, status) => {
    expect(judge(body)).toMatchObject({ outcome: 'invalid', status });
  });

  it.each([
    ['../../etc', 'K600PKZON8'],
    ['PJ0MRSHTDG', '../K600PKZON8'],
    ['PJ0MRSHTDG', 'K600PKZON8/..'],
    ['PJ0MRSHTDG', 'K600%2F..'],
    ['PJ0MRSHTDG', 'K600 PKZON8'],
    ['PJ0MRSHTDG', ''],
    ['PJ0MRSHTDG', 'A'.repeat(65)],
    ['PJ0MRSHTDG', 12345],
    [undefined, 'K600PKZON8'],
  ])('answers 400 to chat_id %j, thread_id %j', (chatId, threadId) => {
    const verdict = judge({ ...sample(), payload: { chat_id: chatId, thread_id: threadId } });
    expect(verdict).toMatchObject({ outcome: 'invalid', status: 400 });
    expect(verdict.task).toBeUndefined();
  });

  it('answers 413 to a body over 1 MB, before reading it as JSON', () => {
    const padded = JSON.stringify({ ...sample(), pad: 'x'.repeat(MAX_DELIVERY_BYTES) });
    expect(judge(padded)).toMatchObject({ outcome: 'too-large', status: 413 });
    const justUnder = JSON.stringify({ ...sample(), pad: 'x'.repeat(MAX_DELIVERY_BYTES - 400) });
    expect(judge(justUnder).outcome).toBe('accepted');
  });

  it('compares secrets whole: equal only when equal', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(SECRET.slice(0, -1), SECRET)).toBe(false);
    expect(secretMatches('', '')).toBe(false);
  });

  it('keeps chat tasks out of the archive run: its decoder refuses them', () => {
    const task = judge(sample()).task!;
    expect(() => decodeTask(encodeTask(task))).toThrow(/archive task is invalid/);
    expect(() => decodeQueuedTask(encodeTask({ ...task, threadId: '../x' }))).toThrow(
      /threadId: expected a LiveChat id/,
    );
  });
});
