import { type RedactionConfig, redactionSchema } from '#privacy/redaction.ts';
import { type ChatFilters, chatFiltersSchema } from '#shared/chat-filters.ts';
import { daysInRange } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { localDay, timeZoneOrThrow } from '#shared/time-zone.ts';
import { DEFAULT_MAX_ATTACHMENT_MB, LIVECHAT_FILE_HOSTS } from '#sources/attachments/safe-file-fetcher.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';
import { integerFlag, parseFlags, stringFlags, urlFlag } from './parse-flags.ts';

export const MAX_RANGE_DAYS = 3_660;

export const USAGE = `usage: npm run archive -- --from YYYY-MM-DD [--to YYYY-MM-DD] (--out DIR | --bucket NAME [--prefix P])
         [--api-url URL] [--concurrency N] [--max-attempts N] [--type chat|missed_chat] [--group N] [--agent LOGIN]
         [--goal ID] [--has-goal 1|0] [--rate rated|not_rated|rated_good|rated_bad] [--query TEXT] [--visitor-id ID]
         [--source v2|v3.6] [--region dal|fra] [--time-zone ZONE] [--redact cards,emails,phones] [--redact-field PATH]...
         [--attachments on|off] [--attachment-hosts HOST[,HOST...]] [--max-attachment-mb N] [--full]
attachments (on by default): the files chats point to are stored under files/ (table chat_files), fetched
  only from --attachment-hosts (default ${LIVECHAT_FILE_HOSTS.join(',')}), at most --max-attachment-mb
  (default ${DEFAULT_MAX_ATTACHMENT_MB}) each
after an interrupted run (Ctrl-C) the same command resumes it: the days it completed are not fetched
  again; --full archives every day again
credentials (environment): v2: LIVECHAT_BEARER_TOKEN, or LIVECHAT_LOGIN (agent e-mail) and LIVECHAT_PAT
  (Personal Access Token, scope archives_read), or the legacy LIVECHAT_LOGIN and LIVECHAT_API_KEY;
  v3.6: LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT (Personal Access Token), or LIVECHAT_BEARER_TOKEN`;

export const SOURCES = ['v2', 'v3.6'] as const;
/** LiveChat's data centres (the `dal:`/`fra:` prefix of an account's OAuth tokens). */
export const REGIONS = ['dal', 'fra'] as const;

/** `--region`: one of LiveChat's data centres (the `X-Region` header), or one InvalidInputError line. */
export function regionFlag(region: string): string {
  if (!(REGIONS as readonly string[]).includes(region)) {
    throw new InvalidInputError(
      `--region must be ${REGIONS.join(' or ')} (the account's data centre), got "${region}"`,
    );
  }
  return region;
}
export type Source = (typeof SOURCES)[number];

export type ArchiveDestination = { kind: 'folder'; dir: string } | { kind: 'bucket'; bucket: string; prefix: string };

export interface ArchiveArgs {
  days: string[];
  destination: ArchiveDestination;
  apiUrl: string;
  concurrency: number;
  filters: ChatFilters;
  maxAttempts: number;
  /** Which LiveChat API to read: REST API v2 `GET /chats` (default) or Agent Chat Web API v3.6 `list_archives`. */
  source: Source;
  /** `X-Region` header (data centre of the account: dal or fra), if given. */
  region?: string;
  /** What is never stored; absent when neither --redact nor --redact-field is given. */
  redaction?: RedactionConfig;
  /** IANA zone the days are cut in: `dt` is the local day there. */
  timeZone: string;
  /** Archive every day even after an interrupted run (no resume). */
  full: boolean;
  /** The files chats point to: off, or the hosts they may be fetched from and the cap per file. */
  attachments: AttachmentArgs;
}

export type AttachmentArgs = { enabled: false } | { enabled: true; hosts: string[]; maxBytes: number };

/** `--attachments`, `--attachment-hosts`, `--max-attachment-mb` (archive and demo share them). */
export function parseAttachmentArgs(values: {
  attachments?: string | undefined;
  'attachment-hosts'?: string | undefined;
  'max-attachment-mb'?: string | undefined;
}): AttachmentArgs {
  const mode = values.attachments ?? 'on';
  if (mode !== 'on' && mode !== 'off') throw new InvalidInputError(`--attachments must be on or off, got "${mode}"`);
  if (mode === 'off') return { enabled: false };
  const hosts = (values['attachment-hosts'] ?? LIVECHAT_FILE_HOSTS.join(','))
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
  for (const host of hosts) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(host)) {
      throw new InvalidInputError(
        `--attachment-hosts takes host names such as cdn.livechat-files.com or *.example.com, got "${host}"`,
      );
    }
  }
  if (hosts.length === 0) throw new InvalidInputError('--attachment-hosts must name at least one host');
  const rawMb = values['max-attachment-mb'] ?? String(DEFAULT_MAX_ATTACHMENT_MB);
  const mb = Number(rawMb);
  if (!/^\d+(\.\d+)?$/.test(rawMb) || !(mb > 0) || mb > 5_000) {
    throw new InvalidInputError(
      `--max-attachment-mb must be a number of megabytes above 0 (at most 5000), got "${rawMb}"`,
    );
  }
  return { enabled: true, hosts, maxBytes: Math.floor(mb * 1_048_576) };
}

/**
 * Parses and validates `npm run archive` arguments; any problem is one InvalidInputError line.
 * `--to` defaults to today in the archive's zone (`today` overrides it, for tests).
 */
export function parseArchiveArgs(argv: readonly string[], today?: string, now = new Date()): ArchiveArgs {
  const values = parseFlags(argv, {
    ...stringFlags(
      'from',
      'to',
      'out',
      'bucket',
      'prefix',
      'api-url',
      'concurrency',
      'max-attempts',
      'type',
      'group',
      'agent',
      'goal',
      'has-goal',
      'rate',
      'query',
      'visitor-id',
      'source',
      'region',
      'redact',
      'time-zone',
      'attachments',
      'attachment-hosts',
      'max-attachment-mb',
    ),
    'redact-field': { type: 'string', multiple: true },
    full: { type: 'boolean' },
  });

  if (!values.from) throw new InvalidInputError('--from is required');
  const timeZone = timeZoneOrThrow(values['time-zone'] ?? 'UTC', '--time-zone');
  const todayThere = today ?? localDay(now, timeZone);
  const to = values.to ?? todayThere;
  const days = daysInRange(values.from, to, MAX_RANGE_DAYS, { from: '--from', to: '--to' });
  // Today may be archived (it is reported in progress); a day that has not begun has no chats yet.
  if (to > todayThere) {
    throw new InvalidInputError(
      `--to ${to} is after today (${todayThere} in ${timeZone}): days that have not begun have no chats to archive`,
    );
  }

  if (values.out !== undefined && values.bucket !== undefined) {
    throw new InvalidInputError('give either --out or --bucket, not both');
  }
  if (values.prefix !== undefined && values.bucket === undefined)
    throw new InvalidInputError('--prefix needs --bucket');
  const destination: ArchiveDestination =
    values.bucket !== undefined
      ? { kind: 'bucket', bucket: nonEmpty('bucket', values.bucket), prefix: values.prefix ?? '' }
      : { kind: 'folder', dir: values.out ?? 'lake' };

  const source = (values.source ?? 'v2') as Source;
  if (!SOURCES.includes(source)) throw new InvalidInputError(`--source must be v2 or v3.6, got "${values.source}"`);
  if (values.region !== undefined) regionFlag(values.region);

  const redaction = parseRedaction(values.redact, values['redact-field']);
  const filters = parseFilters({
    type: values.type,
    group: values.group === undefined ? undefined : integerFlag('group', values.group, 0, 1_000_000),
    agent: values.agent,
    goal: values.goal === undefined ? undefined : integerFlag('goal', values.goal, 0, Number.MAX_SAFE_INTEGER),
    has_goal: values['has-goal'] === undefined ? undefined : integerFlag('has-goal', values['has-goal'], 0, 1),
    rate: values.rate,
    query: values.query,
    visitor_id: values['visitor-id'],
  });
  try {
    SOURCE_INFO[source].checkFilters(filters);
  } catch (error) {
    throw new InvalidInputError(`--source ${source}: ${(error as Error).message}; drop them or use --source v2`);
  }
  return {
    days,
    destination,
    source,
    ...(redaction ? { redaction } : {}),
    timeZone,
    full: values.full ?? false,
    attachments: parseAttachmentArgs(values),
    ...(values.region !== undefined ? { region: values.region } : {}),
    apiUrl: urlFlag('api-url', values['api-url'] ?? DEFAULT_API_URL),
    concurrency: integerFlag('concurrency', values.concurrency ?? '4', 1, 64),
    maxAttempts: integerFlag('max-attempts', values['max-attempts'] ?? '5', 1, 20),
    filters,
  };
}

function parseFilters(raw: Record<string, unknown>): ChatFilters {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined));
  const parsed = chatFiltersSchema.safeParse(defined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? '').replace('_', '-');
    throw new InvalidInputError(`--${flag}: ${issue?.message ?? 'invalid value'}`);
  }
  return parsed.data;
}

function parseRedaction(kinds: string | undefined, fields: string[] | undefined): RedactionConfig | undefined {
  if (kinds === undefined && fields === undefined) return undefined;
  const parsed = redactionSchema.safeParse({
    ...(kinds !== undefined ? { mask: kinds.split(',').map((kind) => kind.trim()) } : {}),
    ...(fields !== undefined ? { fields } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = issue?.path[0] === 'mask' ? '--redact' : '--redact-field';
    throw new InvalidInputError(
      flag === '--redact'
        ? `--redact takes a comma-separated list of cards, emails, phones, got "${kinds}"`
        : `--redact-field takes a dotted field path such as visitor.ip, got "${fields?.[Number(issue?.path[1] ?? 0)]}"`,
    );
  }
  return parsed.data;
}

function nonEmpty(flag: string, text: string): string {
  if (!text.trim()) throw new InvalidInputError(`--${flag} must not be empty`);
  return text;
}
