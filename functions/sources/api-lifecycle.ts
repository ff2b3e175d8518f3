/**
 * LiveChat retires API versions. Its versioning docs (livechat-public-docs
 * src/pages/messaging/index.mdx and src/pages/management/index.mdx, "Versioning") say responses
 * of a `legacy` version carry `Legacy: YYYY-MM-DD` and of a `deprecated` one
 * `Deprecation: YYYY-MM-DD`: the day that stage ends; a deprecated version is then
 * decommissioned. REST API v2 has been deprecated since 2023 without a published date.
 */

/** One lifecycle header of one response. */
export interface ApiLifecycleNotice {
  header: 'Legacy' | 'Deprecation';
  /** The header as sent (trimmed, at most 64 characters). */
  value: string;
  /** The end of the stage as YYYY-MM-DD, when the value is a date (also `@<unix seconds>` or an HTTP date). */
  endsOn?: string;
  path: string;
}

/** Reads both lifecycle headers of one response. */
export function reportLifecycle(headers: Headers, path: string, report: (notice: ApiLifecycleNotice) => void): void {
  for (const header of ['Legacy', 'Deprecation'] as const) {
    const raw = headers.get(header);
    if (raw === null) continue;
    const value = raw.trim().slice(0, 64);
    const endsOn = lifecycleDate(value);
    report({ header, value, ...(endsOn ? { endsOn } : {}), path });
  }
}

/** `YYYY-MM-DD` (LiveChat's format), `@<unix seconds>` (RFC 9745) or an HTTP date, as YYYY-MM-DD. */
export function lifecycleDate(value: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const ms = Date.parse(value);
    return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(value) ? value : undefined;
  }
  const ms = /^@-?\d+$/.test(value) ? Number(value.slice(1)) * 1000 : Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : undefined;
}

/** Whole days from `now` (UTC) until the end of `endsOn`'s stage; negative once it has passed. */
export function daysUntil(endsOn: string, now = new Date()): number {
  const today = Date.parse(now.toISOString().slice(0, 10));
  return Math.round((Date.parse(endsOn) - today) / 86_400_000);
}

/** The one-line warning the CLI prints and the worker logs. */
export function lifecycleWarning(notice: ApiLifecycleNotice, now = new Date()): string {
  const stage = notice.header === 'Legacy' ? 'legacy' : 'deprecated';
  const when = notice.endsOn
    ? `${notice.endsOn} (${daysUntil(notice.endsOn, now)} days left)`
    : `"${notice.value}" (not a date)`;
  const next = notice.header === 'Deprecation' ? 'is decommissioned' : 'becomes deprecated';
  return `LiveChat API responses carry "${notice.header}: ${notice.value}": this API version is ${stage} and ${next} after ${when}; --source v3.6 (source "v3.6" on AWS) reads LiveChat's stable API`;
}
