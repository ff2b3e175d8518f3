/**
 * Athena sees only the days partition projection enumerates: `projectionStart` (cdk.json) to NOW.
 * Chats archived under an earlier `dt` are in S3 but in no query, with no error.
 */
export const DEFAULT_PROJECTION_START = '2020-01-01';

/** Why days before `projectionStart` are a problem and what to change; undefined when none are. */
export function beforeProjectionStart(firstDay: string, projectionStart: string): string | undefined {
  if (firstDay >= projectionStart) return undefined;
  return (
    `${firstDay} is before projectionStart (${projectionStart}): Athena never shows days before it. ` +
    `Archive from ${projectionStart}, or set projectionStart in cdk.json (livechatArchiver.projectionStart) ` +
    `to ${firstDay} or earlier and deploy`
  );
}
