import { addDays } from '#shared/day-range.ts';

/**
 * Athena sees only the days partition projection enumerates: `projectionStart` (cdk.json) to
 * DT_PROJECTION_END. Chats archived under an earlier `dt` are in S3 but in no query, with no error.
 */
export const DEFAULT_PROJECTION_START = '2020-01-01';

/**
 * The end of the `dt` projection. Athena generates projected dates in UTC at query time, but `dt`
 * is a day of the lake's time zone: east of UTC (up to UTC+14) today there is already tomorrow in
 * UTC, and a webhook or a by-hand run of today writes it. One day past NOW covers every zone.
 */
export const DT_PROJECTION_END = 'NOW+1DAYS';
const DAYS_PAST_NOW = Number(/^NOW\+(\d+)DAYS$/.exec(DT_PROJECTION_END)![1]);

/** The newest `dt` a projection ending at DT_PROJECTION_END enumerates at `now` (UTC dates). */
export function newestProjectedDay(now: Date): string {
  return addDays(now.toISOString().slice(0, 10), DAYS_PAST_NOW);
}

/** Why days before `projectionStart` are a problem and what to change; undefined when none are. */
export function beforeProjectionStart(firstDay: string, projectionStart: string): string | undefined {
  if (firstDay >= projectionStart) return undefined;
  return (
    `${firstDay} is before projectionStart (${projectionStart}): Athena never shows days before it. ` +
    `Archive from ${projectionStart}, or set projectionStart in cdk.json (livechatArchiver.projectionStart) ` +
    `to ${firstDay} or earlier and deploy`
  );
}
