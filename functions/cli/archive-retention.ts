import { knownOldestDay } from '#doctor/retention-check.ts';
import { localDay } from '#shared/time-zone.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import type { ArchiveArgs } from './archive-args.ts';
import type { Credentials } from './env-credentials.ts';

/**
 * Why `--from` cannot be archived: it is older than the license's retention, which LiveChat no
 * longer serves (read when the credentials may: see knownOldestDay). Undefined when it can be,
 * or when the retention is not known.
 */
export async function beyondRetention(
  args: Pick<ArchiveArgs, 'days' | 'apiUrl' | 'region' | 'timeZone'>,
  credentials: Credentials,
  tuning?: RetryingApiTuning,
  now = new Date(),
): Promise<string | undefined> {
  const oldest = await knownOldestDay({
    credentials,
    apiUrl: args.apiUrl,
    ...(args.region ? { region: args.region } : {}),
    ...(tuning ? { tuning } : {}),
    today: localDay(now, args.timeZone),
  });
  const from = args.days[0];
  if (!oldest || from === undefined || from >= oldest.day) return undefined;
  return (
    `--from ${from} is older than this account's chat history: its license keeps ${oldest.months} months ` +
    `(archives_retention), so LiveChat serves chats from ${oldest.day} on; archive --from ${oldest.day} or later`
  );
}
