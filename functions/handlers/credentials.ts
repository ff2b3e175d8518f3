import type { ArchiveSource } from '#sources/archive-source.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { SourceName } from '#sources/source-registry.ts';
import { createLivechatClient, type LivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { type ArchivesClient, createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import type { WorkerConfig } from './handler-config.ts';
import { parseSecretJson, v2Credentials, v36Credentials } from './secret-shapes.ts';

/** How every LiveChat request is made: API address, timeouts and the retry hook. */
export type RequestTuning = RetryingApiTuning & { apiUrl: string };

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
  return createLivechatClient({ ...tuning, credentials: v2Credentials(secretValue), ...(region ? { region } : {}) });
}

function v36Client(secretValue: unknown, tuning: RequestTuning, region: string | undefined): ArchivesClient {
  return createArchivesClient({ ...tuning, credentials: v36Credentials(secretValue), ...(region ? { region } : {}) });
}

type WorkerSourceConfig = Pick<WorkerConfig, 'SOURCE' | 'REGION' | 'BUSY_DAY_THRESHOLD'> &
  Partial<Pick<WorkerConfig, 'SLICE_PAGES_PER_TASK'>>;

/** Each source from its secret: the secret's shape and the client it builds. */
const SOURCE_FROM_SECRET: Record<
  SourceName,
  (secret: unknown, tuning: RequestTuning, config: WorkerSourceConfig) => ArchiveSource
> = {
  v2: (secret, tuning, config) => v2Source(v2Client(secret, tuning, config.REGION)),
  'v3.6': (secret, tuning, config) =>
    v36Source(v36Client(secret, tuning, config.REGION), {
      busyDayThreshold: config.BUSY_DAY_THRESHOLD,
      ...(config.SLICE_PAGES_PER_TASK ? { pagesPerTask: config.SLICE_PAGES_PER_TASK } : {}),
    }),
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
