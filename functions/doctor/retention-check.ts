import { LivechatAuthError, LivechatError } from '#shared/errors.ts';
import {
  LICENSE_PROPERTIES_SCOPE,
  oldestServedDay,
  type Retention,
  readLicenseRetention,
} from '#sources/license-retention.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import { type CheckResult, ok, warning } from './check-result.ts';
import { configurationAuthorization, type LivechatCredentials } from './livechat-probe.ts';

export interface RetentionInput {
  credentials: LivechatCredentials;
  apiUrl: string;
  region?: string;
  tuning?: RetryingApiTuning;
  /** Today in the archive's zone (YYYY-MM-DD). */
  today: string;
  /** The oldest days configured runs ask for, e.g. `{day, what: 'the backfill --from'}`. */
  reaches: ReadonlyArray<{ day: string; what: string }>;
}

export interface RetentionFinding {
  result: CheckResult;
  /** The oldest day LiveChat still serves, when the retention is known and limited. */
  oldestDay?: string;
}

const SCOPE_FIX = `give the token the scope ${LICENSE_PROPERTIES_SCOPE} (Configuration API list_license_properties, namespace limits)`;

/** The `retention` check: how far back LiveChat serves chats, and whether a configured run reaches beyond. */
export async function retentionCheck(input: RetentionInput): Promise<RetentionFinding> {
  const authorization = configurationAuthorization(input.credentials);
  if (!authorization) {
    const why =
      input.credentials.credentials.kind === 'api-key'
        ? 'a legacy API key cannot call the Configuration API v3.6'
        : 'the Configuration API takes a PAT with the account ID as its user name, not the agent e-mail';
    return {
      result: warning(
        'retention',
        `the license's archives_retention could not be read: ${why}`,
        `set LIVECHAT_ACCOUNT_ID (the account the PAT belongs to), and ${SCOPE_FIX}`,
      ),
    };
  }
  let retention: Retention | undefined;
  try {
    retention = await readLicenseRetention({
      apiUrl: input.apiUrl,
      authorization,
      ...(input.region ? { region: input.region } : {}),
      ...input.tuning,
    });
  } catch (error) {
    if (!(error instanceof LivechatError)) throw error;
    const refused = error instanceof LivechatAuthError;
    return {
      result: warning(
        'retention',
        refused
          ? `the license's archives_retention could not be read: LiveChat refused the token (${error.status})`
          : `the license's archives_retention could not be read: ${error.message}`,
        refused ? SCOPE_FIX : undefined,
      ),
    };
  }
  if (!retention) {
    return { result: warning('retention', "the license's limits carry no archives_retention.base") };
  }
  const oldestDay = oldestServedDay(input.today, retention);
  if (oldestDay === undefined) {
    return { result: ok('retention', 'archives_retention unlimited (-1): LiveChat serves every archived chat') };
  }
  const months = 'months' in retention ? retention.months : 0;
  const beyond = input.reaches.filter((reach) => reach.day < oldestDay);
  const known = `archives_retention ${months} months: the oldest day LiveChat still serves is ${oldestDay}`;
  if (beyond.length === 0) return { result: ok('retention', known), oldestDay };
  const what = beyond.map((reach) => `${reach.what} ${reach.day}`).join(', ');
  return {
    result: warning(
      'retention',
      `${known}; ${what} reaches beyond it: those days cannot be archived any more`,
      `start at ${oldestDay} or later (older chats survive only in a lake that already holds them)`,
    ),
    oldestDay,
  };
}

/**
 * The oldest day LiveChat still serves, when the credentials may read the license's retention
 * and it is limited; undefined otherwise (unreadable, refused, unlimited): for `archive`, which
 * refuses a `--from` before it. One attempt, no retry: it must not delay a run.
 */
export async function knownOldestDay(
  input: Omit<RetentionInput, 'reaches'>,
): Promise<{ day: string; months: number } | undefined> {
  const authorization = configurationAuthorization(input.credentials);
  if (!authorization) return undefined;
  try {
    const retention = await readLicenseRetention({
      apiUrl: input.apiUrl,
      authorization,
      ...(input.region ? { region: input.region } : {}),
      timeoutMs: 10_000,
      ...input.tuning,
      retryLimit: 0,
    });
    const day = retention && oldestServedDay(input.today, retention);
    return day && retention && 'months' in retention ? { day, months: retention.months } : undefined;
  } catch (error) {
    if (error instanceof LivechatError) return undefined;
    throw error;
  }
}
