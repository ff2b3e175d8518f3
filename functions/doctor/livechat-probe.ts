import type { ChatFilters } from '#shared/chat-filters.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { SourceName } from '#sources/source-registry.ts';
import { createLivechatClient, type V2Credentials } from '#sources/v2/livechat-client.ts';
import { authorizationHeader, createArchivesClient, type V36Credentials } from '#sources/v36/list-archives-client.ts';
import { sliceRange } from '#sources/v36/slice-layout.ts';
import { toArchiveFilters } from '#sources/v36/v36-filters.ts';

/** The credentials of the configured source; a v2 PAT may name its account, for the Configuration API. */
export type LivechatCredentials =
  | { kind: 'v2'; credentials: V2Credentials; accountId?: string }
  | { kind: 'v3.6'; credentials: V36Credentials };

/** One day as the doctor sees it: the chats LiveChat counts, and the first page's chats (a sample). */
export interface DaySample {
  day: string;
  count: number;
  chats: unknown[];
}

export interface LivechatProbe {
  readonly source: SourceName;
  /** The request a day costs, in words, e.g. `GET /chats` (for the checklist). */
  readonly request: string;
  day(day: string): Promise<DaySample>;
}

export interface ProbeOptions {
  credentials: LivechatCredentials;
  apiUrl: string;
  region?: string;
  timeZone: string;
  filters?: ChatFilters;
  tuning?: RetryingApiTuning;
}

/** A sample of this many chats a day is enough to meet the fields LiveChat sends. */
const SAMPLE_SIZE = 25;

/**
 * Asks LiveChat what a night asks first, through the archiver's own clients: v2 `GET /chats`
 * page 1 of a day (`total`), v3.6 `list_archives` of the day's whole range (`found_chats`).
 */
export function createProbe(options: ProbeOptions): LivechatProbe {
  const common = {
    apiUrl: options.apiUrl,
    ...(options.region ? { region: options.region } : {}),
    ...options.tuning,
  };
  const { credentials } = options;
  if (credentials.kind === 'v2') {
    const client = createLivechatClient({ ...common, credentials: credentials.credentials });
    return {
      source: 'v2',
      request: 'GET /chats',
      async day(day) {
        const page = await client.listChats({
          dateFrom: day,
          dateTo: day,
          timeZone: options.timeZone,
          page: 1,
          ...(options.filters ? { filters: options.filters } : {}),
        });
        return { day, count: page.total, chats: page.chats };
      },
    };
  }
  const client = createArchivesClient({ ...common, credentials: credentials.credentials });
  return {
    source: 'v3.6',
    request: 'list_archives',
    async day(day) {
      const { from, to } = sliceRange(day, 'day', options.timeZone);
      const page = await client.listArchives({
        filters: toArchiveFilters(options.filters ?? {}, from, to),
        limit: SAMPLE_SIZE,
        sortOrder: 'desc',
      });
      return { day, count: page.found_chats, chats: page.chats };
    },
  };
}

/** Which credential was found, in words: never its value. */
export function credentialKind(credentials: LivechatCredentials): string {
  const kind = credentials.credentials.kind;
  if (kind === 'bearer') return 'bearer token (LIVECHAT_BEARER_TOKEN)';
  if (kind === 'api-key') return 'legacy API key (LIVECHAT_LOGIN + LIVECHAT_API_KEY)';
  return credentials.kind === 'v2'
    ? 'Personal Access Token (LIVECHAT_LOGIN + LIVECHAT_PAT)'
    : 'Personal Access Token (LIVECHAT_ACCOUNT_ID + LIVECHAT_PAT)';
}

/** The scope the source's request needs. */
export const SCOPE_NEEDED: Record<SourceName, string> = { v2: 'archives_read', 'v3.6': 'chats--all:ro' };

/**
 * The Authorization header the Configuration API v3.6 takes from these credentials (a bearer
 * token, or a PAT with the account ID as its user name), or undefined when they cannot serve it
 * (a v2 PAT without its account ID, a legacy API key).
 */
export function configurationAuthorization(credentials: LivechatCredentials): string | undefined {
  const { credentials: value } = credentials;
  if (value.kind === 'bearer') return `Bearer ${value.token}`;
  if (credentials.kind === 'v3.6') return authorizationHeader(credentials.credentials);
  const v2 = credentials.credentials;
  if (v2.kind === 'pat' && credentials.accountId) {
    return authorizationHeader({ kind: 'pat', accountId: credentials.accountId, token: v2.pat });
  }
  return undefined;
}
