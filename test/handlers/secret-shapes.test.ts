import { afterEach, describe, expect, it, vi } from 'vitest';
import { CredentialsNotSetError, checkSecret, secretValues, sharedSecret } from '#handlers/secret-shapes.ts';
import { describeFailedTask, withoutSecrets } from '#pipeline/task-failure.ts';

afterEach(() => vi.useRealTimers());

describe('checkSecret: the planner and the worker tell an unfilled secret the same way', () => {
  it('names the generated value left after deploy, without quoting it', () => {
    const generated = 'x8#Kq2!vR9pL&w3Zt5@mN7yB';
    expect(() => checkSecret('v2', generated)).toThrow(CredentialsNotSetError);
    expect(() => checkSecret('v2', generated)).toThrow(/still holds the value generated at deploy/);
    try {
      checkSecret('v3.6', generated);
    } catch (error) {
      expect((error as Error).message).not.toContain('x8#Kq2');
    }
  });

  it('accepts each documented shape of its source and names the shapes otherwise', () => {
    expect(() => checkSecret('v2', '{"login":"a@b.c","pat":"p"}')).not.toThrow();
    expect(() => checkSecret('v2', '{"bearerToken":"t"}')).not.toThrow();
    expect(() => checkSecret('v3.6', '{"accountId":"1","token":"t"}')).not.toThrow();
    expect(() => checkSecret('v2', '{"accountId":"1","token":"t"}')).toThrow(/must be JSON \{"login"/);
    expect(() => checkSecret('v3.6', '{"login":"a","pat":"p"}')).toThrow(/v3\.6 secret must be JSON/);
  });
});

describe('sharedSecret', () => {
  it('serves concurrent callers with one fetch and keeps the value for its max age', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const fetch = vi.fn(async () => 'secret-text');
    const secret = sharedSecret(fetch, 300_000);
    expect(await Promise.all([secret(), secret(), secret(), secret(), secret()])).toEqual(Array(5).fill('secret-text'));
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + 299_000);
    await secret();
    expect(fetch).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + 2_000);
    await secret();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('does not keep a failed fetch', async () => {
    const fetch = vi.fn().mockRejectedValueOnce(new Error('throttled')).mockResolvedValue('secret-text');
    const secret = sharedSecret(fetch, 300_000);
    await expect(secret()).rejects.toThrow('throttled');
    expect(await secret()).toBe('secret-text');
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});

describe('the failed-task log line', () => {
  it('names the task, its attempt and the error, for page and slice tasks', () => {
    const page = { v: 1, kind: 'page', runId: 'r', day: '2026-01-02', attempt: 2, page: 3, pages: 4, total: 90 };
    expect(describeFailedTask(JSON.stringify(page), new TypeError('boom'))).toEqual({
      taskKind: 'page',
      runId: 'r',
      day: '2026-01-02',
      page: 3,
      attempt: 2,
      errorClass: 'TypeError',
      error: 'boom',
    });
    const slice = { kind: 'slice', runId: 'r', day: '2026-01-02', attempt: 1, slice: 'h07' };
    expect(describeFailedTask(JSON.stringify(slice), 'odd')).toMatchObject({
      taskKind: 'slice',
      slice: 'h07',
      errorClass: 'string',
      error: 'odd',
    });
    expect(describeFailedTask('[1,2', new Error('x'))).toEqual({
      taskKind: 'unreadable',
      errorClass: 'Error',
      error: 'x',
    });
  });

  it('replaces every value of the secret, and the whole text of one that is not JSON', () => {
    const line = { error: 'denied for pat-123456 (agent@example.com)', attempt: 1 };
    expect(withoutSecrets(line, secretValues('{"login":"agent@example.com","pat":"pat-123456"}'))).toEqual({
      error: 'denied for [secret] ([secret])',
      attempt: 1,
    });
    expect(withoutSecrets({ error: 'saw raw-value-99' }, secretValues('raw-value-99'))).toEqual({
      error: 'saw [secret]',
    });
  });
});
