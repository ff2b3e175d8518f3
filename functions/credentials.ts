import * as z from '#shared/zod-mini.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { SourceName } from '#sources/source-registry.ts';
import { createLivechatClient, type LivechatClient, type V2Credentials } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { type ArchivesClient, createArchivesClient, type V36Credentials } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import type { WorkerConfig } from './handler-config.ts';

const text = () => z.string().check(z.minLength(1));

/**
 * The Secrets Manager secret's JSON with SOURCE v2, in order of preference: `{"bearerToken": "..."}`
 * (OAuth or any bearer token), `{"login": "<agent e-mail>", "pat": "..."}` (Personal Access
 * Token), or the legacy `{"login": "...", "apiKey": "..."}`.
 */
export const livechatSecretSchema = z.union([
  z.object({ bearerToken: text() }),
  z.object({ login: text(), pat: text() }),
  z.object({ login: text(), apiKey: text() }),
]);

export const V2_SECRET_SHAPES =
  '{"login": "...", "pat": "..."}, {"bearerToken": "..."} or the legacy {"login": "...", "apiKey": "..."}';

/** With SOURCE v3.6: a Personal Access Token `{"accountId": "...", "token": "..."}` or `{"bearerToken": "..."}`. */
export const livechatV36SecretSchema = z.union([
  z.object({ accountId: text(), token: text() }),
  z.object({ bearerToken: text() }),
]);

/** How every LiveChat request is made: API address, timeouts and the retry hook. */
export type RequestTuning = RetryingApiTuning & { apiUrl: string };

/** JSON.parse's own error quotes the text it choked on, which here would be the secret. */
export function parseSecretJson(value: unknown): unknown {
  if (typeof value !== 'string') throw new Error('the LiveChat secret must be a JSON string');
  try {
    return JSON.parse(value);
  } catch {
    throw new Error('the LiveChat secret is not JSON');
  }
}

/** Builds a value from the secret, again only when the secret changes (rotation). */
function perSecretValue<T>(create: (secret: unknown) => T): (secret: unknown) => T {
  let last: { key: string; value: T } | undefined;
  return (secret) => {
    const key = JSON.stringify(secret);
    if (last?.key !== key) last = { key, value: create(secret) };
    return last.value;
  };
}

function v2Client(secretValue: unknown, tuning: RequestTuning, region: string | undefined): LivechatClient {
  const secret = livechatSecretSchema.safeParse(secretValue);
  if (!secret.success) throw new Error(`the LiveChat secret must be JSON ${V2_SECRET_SHAPES}`);
  const data = secret.data;
  const credentials: V2Credentials =
    'bearerToken' in data
      ? { kind: 'bearer', token: data.bearerToken }
      : 'pat' in data
        ? { kind: 'pat', login: data.login, pat: data.pat }
        : { kind: 'api-key', login: data.login, apiKey: data.apiKey };
  return createLivechatClient({ ...tuning, credentials, ...(region ? { region } : {}) });
}

function v36Client(secretValue: unknown, tuning: RequestTuning, region: string | undefined): ArchivesClient {
  const secret = livechatV36SecretSchema.safeParse(secretValue);
  if (!secret.success) {
    throw new Error(
      'the LiveChat v3.6 secret must be JSON {"accountId": "...", "token": "..."} or {"bearerToken": "..."}',
    );
  }
  const credentials: V36Credentials =
    'bearerToken' in secret.data
      ? { kind: 'bearer', token: secret.data.bearerToken }
      : { kind: 'pat', accountId: secret.data.accountId, token: secret.data.token };
  return createArchivesClient({ ...tuning, credentials, ...(region ? { region } : {}) });
}

type WorkerSourceConfig = Pick<WorkerConfig, 'SOURCE' | 'REGION' | 'BUSY_DAY_THRESHOLD'>;

/** Each source from its secret: the secret's shape and the client it builds. */
const SOURCE_FROM_SECRET: Record<
  SourceName,
  (secret: unknown, tuning: RequestTuning, config: WorkerSourceConfig) => ArchiveSource
> = {
  v2: (secret, tuning, config) => v2Source(v2Client(secret, tuning, config.REGION)),
  'v3.6': (secret, tuning, config) =>
    v36Source(v36Client(secret, tuning, config.REGION), { busyDayThreshold: config.BUSY_DAY_THRESHOLD }),
};

/**
 * The worker's LiveChat source, built from the secret's text: the configured SOURCE with its
 * client, rebuilt only when the secret's value changes.
 */
export function sourceFromSecret(
  config: WorkerSourceConfig,
  tuning: RequestTuning,
): (secretText: unknown) => ArchiveSource {
  const build = perSecretValue((secret) => SOURCE_FROM_SECRET[config.SOURCE](secret, tuning, config));
  return (secretText) => build(parseSecretJson(secretText));
}
