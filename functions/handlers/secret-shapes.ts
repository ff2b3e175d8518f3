import type { LivechatCredentials } from '#doctor/livechat-probe.ts';
import * as z from '#shared/zod-mini.ts';
import type { SourceName } from '#sources/source-registry.ts';
import type { V2Credentials } from '#sources/v2/livechat-client.ts';
import type { V36Credentials } from '#sources/v36/list-archives-client.ts';

/**
 * The LiveChat secret as both handlers read it: its JSON shapes, the check the planner runs
 * before queueing anything, and one fetch shared by every record of a batch. No API client
 * here, so the planner's bundle stays small.
 */
const text = () => z.string().check(z.minLength(1));

/**
 * The Secrets Manager secret's JSON with SOURCE v2, in order of preference: `{"bearerToken": "..."}`
 * (OAuth or any bearer token), `{"login": "<agent e-mail>", "pat": "..."}` (Personal Access
 * Token), or the legacy `{"login": "...", "apiKey": "..."}`.
 */
export const livechatSecretSchema = z.union([
  z.object({ bearerToken: text() }),
  // accountId (optional): lets the PAT read the license's retention (Configuration API), for the doctor's checks.
  z.object({ login: text(), pat: text(), accountId: z.optional(text()) }),
  z.object({ login: text(), apiKey: text() }),
]);

export const V2_SECRET_SHAPES =
  '{"login": "...", "pat": "..."}, {"bearerToken": "..."} or the legacy {"login": "...", "apiKey": "..."}';

/** With SOURCE v3.6: a Personal Access Token `{"accountId": "...", "token": "..."}` or `{"bearerToken": "..."}`. */
export const livechatV36SecretSchema = z.union([
  z.object({ accountId: text(), token: text() }),
  z.object({ bearerToken: text() }),
]);

/**
 * The secret is not JSON: right after `cdk deploy` it holds the random value Secrets Manager
 * generated, until the operator puts the LiveChat credentials in.
 */
export class CredentialsNotSetError extends Error {
  override name = 'CredentialsNotSetError';
  constructor() {
    super(
      'the LiveChat secret is not JSON: it still holds the value generated at deploy, not the credentials. ' +
        'Put them in with aws secretsmanager put-secret-value --secret-id <ApiSecretArn> --secret-string \'{"login": "...", "pat": "..."}\' (docs/deploy.md)',
    );
  }
}

/** JSON.parse's own error quotes the text it choked on, which here would be the secret. */
export function parseSecretJson(value: unknown): unknown {
  if (typeof value !== 'string') throw new Error('the LiveChat secret must be a JSON string');
  try {
    return JSON.parse(value);
  } catch {
    throw new CredentialsNotSetError();
  }
}

export function v2Credentials(secretValue: unknown): V2Credentials {
  const secret = livechatSecretSchema.safeParse(secretValue);
  if (!secret.success) throw new Error(`the LiveChat secret must be JSON ${V2_SECRET_SHAPES}`);
  const data = secret.data;
  if ('bearerToken' in data) return { kind: 'bearer', token: data.bearerToken };
  return 'pat' in data
    ? { kind: 'pat', login: data.login, pat: data.pat }
    : { kind: 'api-key', login: data.login, apiKey: data.apiKey };
}

export function v36Credentials(secretValue: unknown): V36Credentials {
  const secret = livechatV36SecretSchema.safeParse(secretValue);
  if (!secret.success) {
    throw new Error(
      'the LiveChat v3.6 secret must be JSON {"accountId": "...", "token": "..."} or {"bearerToken": "..."}',
    );
  }
  return 'bearerToken' in secret.data
    ? { kind: 'bearer', token: secret.data.bearerToken }
    : { kind: 'pat', accountId: secret.data.accountId, token: secret.data.token };
}

const CREDENTIALS_OF: Record<SourceName, (secret: unknown) => unknown> = { v2: v2Credentials, 'v3.6': v36Credentials };

/** The secret as the doctor's checks take it: the source's credentials, and a v2 PAT's account ID if given. */
export function doctorCredentials(source: SourceName, secretText: unknown): LivechatCredentials {
  const secret = parseSecretJson(secretText);
  if (source === 'v3.6') return { kind: 'v3.6', credentials: v36Credentials(secret) };
  const parsed = livechatSecretSchema.safeParse(secret);
  const accountId = parsed.success && 'accountId' in parsed.data ? parsed.data.accountId : undefined;
  return { kind: 'v2', credentials: v2Credentials(secret), ...(accountId ? { accountId } : {}) };
}

/** Throws the one-line reason the secret cannot serve `source` (not filled in yet, or the wrong shape). */
export function checkSecret(source: SourceName, secretText: unknown): void {
  CREDENTIALS_OF[source](parseSecretJson(secretText));
}

/**
 * One fetch serves every caller for `maxAgeMs`: the records of a batch, processed in parallel,
 * share the request in flight instead of each fetching the secret at a cold start. A failed
 * fetch is not kept.
 */
export function sharedSecret(fetch: () => Promise<unknown>, maxAgeMs: number): () => Promise<unknown> {
  let cached: { value: Promise<unknown>; fetchedAt: number } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.fetchedAt >= maxAgeMs) {
      const value = fetch();
      const entry = { value, fetchedAt: now };
      cached = entry;
      value.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.value;
  };
}

/** The secret's values (or its whole text when it is not JSON), to keep out of log lines. */
export function secretValues(secretText: unknown): string[] {
  if (typeof secretText !== 'string') return [];
  try {
    const parsed = JSON.parse(secretText) as unknown;
    if (parsed && typeof parsed === 'object') {
      return Object.values(parsed).filter((value): value is string => typeof value === 'string' && value.length >= 4);
    }
  } catch {
    // not JSON: the text itself is the value to hide
  }
  return secretText.length >= 4 ? [secretText] : [];
}
