import { isRealDay } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { timeZoneOrThrow } from '#shared/time-zone.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';
import { regionFlag, SOURCES, type Source } from './archive-args.ts';
import { type LakeDestination, parseLakeDestination } from './lake-destination.ts';
import { integerFlag, parseFlags, stringFlags, urlFlag } from './parse-flags.ts';

export const DOCTOR_USAGE = `usage: npm run doctor -- [--source v2|v3.6] [--region dal|fra] [--api-url URL] [--time-zone ZONE]
         [--out DIR | --bucket NAME [--prefix P]] [--from YYYY-MM-DD] [--lookback-days N] [--busy-day-threshold N]
         [--webhook-url URL --owner-client-id ID]
Checks a LiveChat account before the first night, writing nothing; one line per check (ok / warning / failed).
  --out / --bucket        the lake a run would write: read only (its recorded time zone vs --time-zone)
  --from                  the first day of a planned backfill, checked against the license's retention
  --lookback-days N       days each night archives again (cdk.json lookbackDays, default 3)
  --busy-day-threshold N  v3.6: chats above which a day is cut into hourly slices (default 2000)
  --webhook-url URL       v3.6 with webhooks: the receiver's public URL; with --owner-client-id (the Developer
                          Console app's Client ID) checks that its chat_deactivated webhook is registered and
                          enabled (token scopes webhooks.configuration:rw, webhooks.state:ro; LIVECHAT_WEBHOOK_SECRET)
exit codes: 0 the account can be archived (warnings allowed), 1 a check failed, 2 bad arguments,
  3 LiveChat refused the credentials
credentials (environment), as for archive: v2: LIVECHAT_BEARER_TOKEN, or LIVECHAT_LOGIN (agent e-mail) and
  LIVECHAT_PAT (scope archives_read); v3.6: LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT (scope chats--all:ro), or
  LIVECHAT_BEARER_TOKEN. LIVECHAT_ACCOUNT_ID also lets a v2 PAT read the license's retention.`;

export interface DoctorArgs {
  source: Source;
  region?: string;
  apiUrl: string;
  timeZone: string;
  lake?: LakeDestination;
  backfillFrom?: string;
  lookbackDays: number;
  busyDayThreshold: number;
  /** The webhook receiver to check the registration for (v3.6). */
  webhook?: { url: string; ownerClientId: string };
}

/** Parses `npm run doctor` arguments (--help is answered before); any problem is one InvalidInputError line. */
export function parseDoctorArgs(argv: readonly string[]): DoctorArgs {
  const values = parseFlags(argv, {
    ...stringFlags(
      'source',
      'region',
      'api-url',
      'time-zone',
      'out',
      'bucket',
      'prefix',
      'from',
      'lookback-days',
      'busy-day-threshold',
      'webhook-url',
      'owner-client-id',
    ),
  });
  const source = (values.source ?? 'v2') as Source;
  if (!SOURCES.includes(source)) throw new InvalidInputError(`--source must be v2 or v3.6, got "${values.source}"`);
  if (values.from !== undefined && !isRealDay(values.from)) {
    throw new InvalidInputError(`--from must be a date as YYYY-MM-DD, got "${values.from}"`);
  }
  const webhookUrl = values['webhook-url'];
  const owner = values['owner-client-id'];
  if ((webhookUrl === undefined) !== (owner === undefined)) {
    throw new InvalidInputError(
      '--webhook-url and --owner-client-id go together (the receiver and the app that owns its webhook)',
    );
  }
  if (webhookUrl !== undefined && source !== 'v3.6') {
    throw new InvalidInputError('--webhook-url needs --source v3.6 (webhooks write the v3.6 lake shape)');
  }
  const hasLake = values.out !== undefined || values.bucket !== undefined || values.prefix !== undefined;
  return {
    source,
    ...(values.region !== undefined ? { region: regionFlag(values.region) } : {}),
    apiUrl: urlFlag('api-url', values['api-url'] ?? DEFAULT_API_URL),
    timeZone: timeZoneOrThrow(values['time-zone'] ?? 'UTC', '--time-zone'),
    ...(hasLake ? { lake: parseLakeDestination(values) } : {}),
    ...(values.from !== undefined ? { backfillFrom: values.from } : {}),
    lookbackDays: integerFlag('lookback-days', values['lookback-days'] ?? '3', 0, 60),
    busyDayThreshold: integerFlag('busy-day-threshold', values['busy-day-threshold'] ?? '2000', 1, 1_000_000),
    ...(webhookUrl !== undefined && owner
      ? { webhook: { url: urlFlag('webhook-url', webhookUrl), ownerClientId: owner } }
      : {}),
  };
}
