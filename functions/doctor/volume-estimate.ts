import type { SourceName } from '#sources/source-registry.ts';
import { type CheckResult, failed, ok, warning } from './check-result.ts';

/** v2 `GET /chats` serves 25 chats a page and at most the latest 25 000 records of one query. */
const V2_PAGE = 25;
const V2_CAP = 25_000;
/** list_archives pages hold at most 100 entries. */
const V36_PAGE = 100;
const NIGHTS_A_MONTH = 30;

/**
 * us-east-1 list prices, as docs/deploy.md "Monthly cost" counts them: a request keeps a worker
 * (0.5 GB, arm64) busy about a second; each task costs about 2.5 SQS requests and one S3 LIST;
 * each object one PUT; a chat about 1.5 KB gzip of storage. The secret, the alarms, per-hour
 * custom metrics and the queue's idle polling cost the same whatever the volume (the dashboard,
 * $3 beyond an account's first three, is left out).
 */
const PRICE = {
  requestSecond: 0.5 * 0.0000133334,
  task: 2.5 * 0.0000004 + 0.000005,
  put: 0.000005,
  chatMonthGb: (1.5 / 1_000_000) * 0.023,
  fixed: 0.41 + 1.5 + 0.2 + 0.26,
};

export interface VolumeInput {
  source: SourceName;
  timeZone: string;
  /** Chats of each of the last days, yesterday first. */
  days: ReadonlyArray<{ day: string; count: number }>;
  lookbackDays: number;
  /** v3.6: found_chats above which a day is archived as hourly slices. */
  busyDayThreshold: number;
}

/** What one archived day costs: queued tasks, API requests and objects written. */
interface DayCost {
  tasks: number;
  requests: number;
  objects: number;
  unit: string;
}

function dayCost(source: SourceName, chats: number, busyDayThreshold: number): DayCost {
  if (source === 'v2') {
    const pages = Math.min(Math.max(1, Math.ceil(chats / V2_PAGE)), V2_CAP / V2_PAGE);
    return { tasks: pages, requests: pages, objects: pages, unit: 'pages' };
  }
  const hourly = chats > busyDayThreshold;
  const parts = hourly ? Math.max(24, Math.ceil(chats / V36_PAGE) + 12) : Math.max(1, Math.ceil(chats / V36_PAGE));
  // One count request plans the day; each part is one page; each part is written twice (chats/, archives/).
  return { tasks: hourly ? 24 : 1, requests: parts + 1, objects: 2 * parts, unit: hourly ? 'hourly slices' : 'slice' };
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const dollars = (n: number) => `$${n < 10 ? n.toFixed(2) : Math.round(n).toString()}`;

/** The `volume` check: yesterday, the busiest recent day, and what a night and a month of them cost. */
export function volumeCheck(input: VolumeInput): CheckResult {
  const [yesterday] = input.days;
  if (!yesterday) return warning('volume', 'no day could be counted');
  const busiest = input.days.reduce((top, day) => (day.count > top.count ? day : top), yesterday);
  const mean = input.days.reduce((sum, day) => sum + day.count, 0) / input.days.length;
  const nightDays = 1 + input.lookbackDays;
  const typical = dayCost(input.source, mean, input.busyDayThreshold);
  const busy = dayCost(input.source, busiest.count, input.busyDayThreshold);

  const monthly = {
    objects: typical.objects * nightDays * NIGHTS_A_MONTH,
    current: typical.objects * NIGHTS_A_MONTH,
    pipeline:
      NIGHTS_A_MONTH *
        nightDays *
        (typical.requests * PRICE.requestSecond + typical.tasks * PRICE.task + typical.objects * PRICE.put) +
      mean * NIGHTS_A_MONTH * PRICE.chatMonthGb,
  };
  const perNight =
    input.source === 'v2'
      ? `${count(busy.requests)} pages on the busiest day, ${count(typical.requests * nightDays)} pages a night`
      : `${busy.tasks === 24 ? '24 hourly slices' : '1 slice'} and ${count(busy.requests)} requests on the busiest day, ` +
        `${count(typical.requests * nightDays)} requests a night`;
  const summary =
    `yesterday ${yesterday.day} (${input.timeZone}) ${count(yesterday.count)} chats, busiest of the last ${input.days.length} days ` +
    `${busiest.day} ${count(busiest.count)}: ${perNight} (1 + lookback ${input.lookbackDays} days); ` +
    `≈ ${count(monthly.objects)} objects written a month (${count(monthly.current)} current files), ` +
    `≈ ${dollars(monthly.pipeline + PRICE.fixed)} a month on AWS (pipeline ${dollars(monthly.pipeline)}, ` +
    `alarms, metrics, secret and queue polling ${dollars(PRICE.fixed)}; docs/deploy.md)`;

  if (busiest.count === 0) {
    return warning(
      'volume',
      `no chats in the last ${input.days.length} days in ${input.timeZone}`,
      'check that these credentials belong to the account you mean, and the filters',
    );
  }
  if (input.source === 'v2') {
    const share = busiest.count / V2_CAP;
    const useV36 = '--source v3.6 (cdk.json "source": "v3.6"): list_archives has no cap and is LiveChat\'s stable API';
    if (share >= 1) {
      return failed(
        'volume',
        `${summary}; ${busiest.day} is above v2's 25 000-record cap: v2 cannot archive it whole`,
        useV36,
      );
    }
    if (share >= 0.8) return warning('volume', `${summary}; v2's 25 000-record cap is near (${pct(share)})`, useV36);
    return ok('volume', `${summary}; v2's 25 000-record cap is far (${pct(share)}); recommended: ${useV36}`);
  }
  const slicing =
    busiest.count > input.busyDayThreshold
      ? `days above busyDayThreshold ${count(input.busyDayThreshold)} are cut into hourly slices`
      : `every day fits one slice (busyDayThreshold ${count(input.busyDayThreshold)})`;
  return ok('volume', `${summary}; ${slicing}; recommended: source v3.6 with these settings`);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %`;
}
