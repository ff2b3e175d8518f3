import { CHAT_SCHEMA } from '#lake/chat-columns.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { addDays } from '#shared/day-range.ts';
import { LivechatAuthError, LivechatError, LivechatMisdirectedError } from '#shared/errors.ts';
import { localDay } from '#shared/time-zone.ts';
import { type ApiLifecycleNotice, daysUntil, lifecycleWarning } from '#sources/api-lifecycle.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import { type CheckResult, type DoctorReport, failed, ok, warning } from './check-result.ts';
import { type LakeUnderCheck, lakeCheck } from './lake-check.ts';
import { createProbe, credentialKind, type DaySample, type ProbeOptions, SCOPE_NEEDED } from './livechat-probe.ts';
import { retentionCheck } from './retention-check.ts';
import { sampleFindings } from './sample-fields.ts';
import { volumeCheck } from './volume-estimate.ts';
import { type WebhookSetup, webhookCheck } from './webhook-check.ts';

export interface DoctorSetup extends Omit<ProbeOptions, 'tuning'> {
  /** Settled days before yesterday that each night archives again (cdk.json lookbackDays). */
  lookbackDays: number;
  /** v3.6: found_chats above which a day is archived as hourly slices. */
  busyDayThreshold: number;
  /** The first day of a planned backfill, checked against the license's retention. */
  backfillFrom?: string;
  /** The lake a run would write, read only. */
  lake?: LakeUnderCheck;
  /** Webhooks configured (v3.6): the `chat_deactivated` registration to check for the receiver. */
  webhooks?: WebhookSetup;
  /** The nightly job on AWS: nobody is there to renew a token that expires. */
  unattended?: boolean;
  tuning?: RetryingApiTuning;
  now?: () => Date;
}

/** Days counted: yesterday and the six before it. */
const DAYS_COUNTED = 7;

/** Requests answer fast or the doctor says so: few retries, short waits. */
const DOCTOR_TUNING: RetryingApiTuning = { timeoutMs: 15_000, retryLimit: 2, maxRetryDelayMs: 5_000 };

/**
 * Every check the archiver can make before a night, in seconds, writing nothing: the
 * credentials, the data centre, the API's lifecycle, the volume and what it costs, a sample's
 * fields, the license's retention, the webhook registration (when webhooks are configured), and
 * the lake. LiveChat is asked what a night asks (one count a day, for the last 7 days) and the
 * Configuration API once for retention (and twice for webhooks).
 */
export async function runDoctor(setup: DoctorSetup): Promise<DoctorReport> {
  const now = setup.now?.() ?? new Date();
  const notices = new Map<string, ApiLifecycleNotice>();
  const tuning: RetryingApiTuning = {
    ...DOCTOR_TUNING,
    ...setup.tuning,
    onLifecycle: (notice) => notices.set(notice.header, notice),
  };
  const probe = createProbe({ ...setup, tuning });
  const yesterday = addDays(localDay(now, setup.timeZone), -1);
  const days = Array.from({ length: DAYS_COUNTED }, (_, back) => addDays(yesterday, -back));
  const results: CheckResult[] = [];
  const lake = async () => (setup.lake ? [await lakeCheck(setup.lake, setup.timeZone)] : []);

  const kind = credentialKind(setup.credentials);
  let first: DaySample;
  try {
    first = await probe.day(yesterday);
  } catch (error) {
    if (error instanceof LivechatAuthError) {
      const refused = failed(
        'credentials',
        `${kind} refused by LiveChat (${error.status} on ${probe.request})`,
        authFix(setup),
      );
      return { results: [refused, ...(await lake())], verdict: 'refused' };
    }
    if (!(error instanceof LivechatError)) throw error;
    const result =
      error instanceof LivechatMisdirectedError
        ? failed('data-centre', error.message.replace(/: set the region.*$/, ''), regionFix(error.region))
        : failed(
            'credentials',
            `${kind} could not be tried: ${error.message}`,
            // An unreachable API's message already says what to check.
            /; check /.test(error.message) ? undefined : 'check --api-url and the network',
          );
    return { results: [result, ...(await lake())], verdict: 'failed' };
  }
  const accepted = `${kind} accepted (${probe.request}, scope ${SCOPE_NEEDED[probe.source]})`;
  results.push(
    setup.unattended && setup.credentials.credentials.kind === 'bearer'
      ? warning(
          'credentials',
          `${accepted}; a bearer token expires and nothing renews it, so the nights will fail once it does`,
          'put a Personal Access Token in the secret: {"login","pat"} (v2) or {"accountId","token"} (v3.6)',
        )
      : ok('credentials', accepted),
  );
  results.push(
    ok(
      'data-centre',
      setup.region
        ? `the account answers in the ${setup.region} data centre (X-Region: ${setup.region})`
        : 'the account answers in the default data centre (dal; no X-Region)',
    ),
  );

  let samples: DaySample[] = [first];
  try {
    samples = [first, ...(await Promise.all(days.slice(1).map((day) => probe.day(day))))];
  } catch (error) {
    if (!(error instanceof LivechatError)) throw error;
    results.push(failed('volume', `the last ${DAYS_COUNTED} days could not be counted: ${error.message}`));
  }
  results.push(lifecycleCheck([...notices.values()], now));
  if (samples.length === DAYS_COUNTED) {
    results.push(
      volumeCheck({
        source: probe.source,
        timeZone: setup.timeZone,
        days: samples,
        lookbackDays: setup.lookbackDays,
        busyDayThreshold: setup.busyDayThreshold,
      }),
    );
  }
  results.push(sampleCheck(probe.source, samples));

  const oldestNightDay = addDays(yesterday, -setup.lookbackDays);
  const retention = await retentionCheck({
    credentials: setup.credentials,
    apiUrl: setup.apiUrl,
    ...(setup.region ? { region: setup.region } : {}),
    tuning,
    today: localDay(now, setup.timeZone),
    reaches: [
      ...(setup.backfillFrom ? [{ day: setup.backfillFrom, what: 'the backfill from' }] : []),
      { day: oldestNightDay, what: `the nightly lookback (${setup.lookbackDays} days) from` },
    ],
  });
  results.push(retention.result);
  if (setup.webhooks) {
    results.push(
      await webhookCheck({
        credentials: setup.credentials,
        apiUrl: setup.apiUrl,
        ...(setup.region ? { region: setup.region } : {}),
        tuning,
        webhooks: setup.webhooks,
      }),
    );
  }
  results.push(...(await lake()));
  return { results, verdict: results.some((result) => result.status === 'failed') ? 'failed' : 'ok' };
}

function authFix(setup: DoctorSetup): string {
  const { credentials } = setup.credentials;
  if (credentials.kind === 'api-key') {
    return 'LiveChat no longer issues API keys: create a Personal Access Token with the scope archives_read (LIVECHAT_PAT)';
  }
  const scope = SCOPE_NEEDED[setup.credentials.kind];
  if (credentials.kind === 'bearer') return `the token must be valid, not expired, and carry the scope ${scope}`;
  const owner =
    setup.credentials.kind === 'v2' ? 'LIVECHAT_LOGIN: the agent e-mail' : 'LIVECHAT_ACCOUNT_ID: the account';
  return `check LIVECHAT_PAT and ${owner} it belongs to; the PAT must carry the scope ${scope}`;
}

function regionFix(region: string | undefined): string {
  return region
    ? `--region ${region} (cdk.json "region": "${region}")`
    : 'set the region: --region dal|fra (cdk.json "region")';
}

/** The `api-lifecycle` check: a Legacy / Deprecation header's date and the days left. */
function lifecycleCheck(notices: readonly ApiLifecycleNotice[], now: Date): CheckResult {
  const notice = notices.find((n) => n.header === 'Deprecation') ?? notices[0];
  if (!notice) return ok('api-lifecycle', 'no Legacy or Deprecation header: the API version is not being retired');
  const daysLeft = notice.endsOn ? daysUntil(notice.endsOn, now) : undefined;
  const text = lifecycleWarning(notice, now);
  return daysLeft !== undefined && daysLeft < 0
    ? failed('api-lifecycle', text.replace(/; --source.*$/, ''), 'use --source v3.6 (cdk.json "source": "v3.6")')
    : warning(
        'api-lifecycle',
        text.replace(/; --source.*$/, ''),
        'plan the move: --source v3.6 (cdk.json "source": "v3.6")',
      );
}

/** The `sample` check: fields of recent chats the table has no column for, values that do not fit theirs. */
function sampleCheck(source: ProbeOptions['credentials']['kind'], samples: readonly DaySample[]): CheckResult {
  const chats = samples.flatMap((sample) => sample.chats);
  if (chats.length === 0) return warning('sample', 'no recent chat to sample');
  const findings = sampleFindings(chats, source === 'v2' ? CHAT_SCHEMA : THREAD_SCHEMA);
  const sampled = `${chats.length} recent chats sampled`;
  if (findings.unknown.length === 0 && findings.wrongType.length === 0) {
    return ok('sample', `${sampled}: every field has a column of its type`);
  }
  const parts = [
    findings.unknown.length > 0 ? `fields without a column: ${findings.unknown.join(', ')}` : '',
    findings.wrongType.length > 0 ? `values of the wrong type: ${findings.wrongType.join(', ')}` : '',
  ].filter(Boolean);
  const table = source === 'v2' ? 'functions/lake/chat-columns.ts' : 'functions/lake/thread-columns.ts';
  const kept =
    source === 'v2'
      ? 'unknown fields kept verbatim, values of the wrong type in the _mistyped column'
      : 'kept in the _extra JSON columns';
  return warning(
    'sample',
    `${sampled}; ${parts.join('; ')}`,
    `nothing is lost (${kept}); to query them, extend ${table}`,
  );
}
