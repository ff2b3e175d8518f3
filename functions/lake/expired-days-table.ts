/**
 * The `expired_days` table (`manifests/expired-days/dt=…/prune-….json`): days whose chat files
 * `npm run prune` removed, recorded before the delete, so `day_completeness` reads such a day as
 * `expired`, not as missing chats. Same column shape as day_plans. On S3 the `retentionDays`
 * lifecycle rule expires files and records nothing: there `day_completeness` knows the cutoff.
 */
import { type DayPlanColumn, manifestColumn } from './day-plan-table.ts';
import { EXPIRED_DAYS_PREFIX } from './lake-layout.ts';

export const EXPIRED_DAYS_TABLE = 'expired_days';
export { EXPIRED_DAYS_PREFIX };

export const EXPIRED_DAY_COLUMNS: readonly DayPlanColumn[] = [
  manifestColumn('day', 'string', 'Chat day whose files were removed (the same as dt)'),
  manifestColumn('expiredAt', 'string', 'ISO-8601 UTC time of the prune'),
  manifestColumn('files', 'int', 'Chat files of the day the prune removed (every chat table)'),
  manifestColumn('olderThanDays', 'int', 'The prune removed files written more than this many days before'),
];

export interface ExpiredDayRecord {
  day: string;
  expiredAt: string;
  files: number;
  olderThanDays: number;
}
