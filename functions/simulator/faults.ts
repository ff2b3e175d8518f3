/** Fault injection for the LiveChat simulator: random (seeded), scripted, rate limit. */
import { hashString, mulberry32, type Rng } from './prng.ts';

export type FaultKind = '429' | '500' | '502' | '503' | 'slow' | 'malformed' | 'html' | 'reset' | 'empty';

export interface ScriptedFault {
  /** Only requests whose date range (date_from..date_to) includes this day. */
  day?: string;
  /** Only requests for this page (1-based; a request without `page` is page 1). */
  page?: number;
  fault: FaultKind;
  /** How many matching requests get this fault (default 1). */
  times?: number;
  /** For '429': Retry-After seconds; null = no header. Defaults to FaultOptions.retryAfterSeconds, then 1. */
  retryAfterSeconds?: number | null;
}

export interface DriftRule {
  day: string;
  afterRequests: number;
  addChats: number;
  times?: number;
  position?: 'newest' | 'random';
}

export interface FaultOptions {
  // random faults, seeded, each a probability 0..1 per request (after auth):
  rate429?: number;
  retryAfterSeconds?: number | null; // null = 429 without Retry-After (default 1)
  rate5xx?: number; // 500/502/503 mixed
  rateSlow?: number;
  slowMs?: number; // respond after slowMs (default 30000, longer than a client timeout)
  rateMalformed?: number; // truncated JSON body with status 200
  rateHtml?: number; // 200 or 502 with an HTML error page
  rateReset?: number; // destroy the socket without a response
  rateEmptyPage?: number; // 200 with chats: [] but normal total/pages
  // scripted faults, deterministic, consumed in order: each matching request gets the fault, `times` times
  script?: ScriptedFault[];
  // drift: after the simulator has served `afterRequests` requests for that day (counting all pages),
  // add `addChats` new chats to that day, `times` times (default 1)
  drift?: DriftRule[];
  rateLimitPerSecond?: number; // token bucket over all requests: over the limit → 429 with Retry-After: 1
}

export const DEFAULT_SLOW_MS = 30_000;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

export interface FaultDecision {
  kind: FaultKind;
  /** For 429. */
  retryAfterSeconds?: number | null;
  /** For 'html': status 200 or 502. */
  htmlStatus?: 200 | 502;
  source: 'script' | 'random';
}

export interface RequestInfo {
  dateFrom: string | undefined;
  dateTo: string;
  page: number;
}

/** Does a request's date range include `day`? */
export function requestCoversDay(req: Pick<RequestInfo, 'dateFrom' | 'dateTo'>, day: string): boolean {
  return (req.dateFrom === undefined || req.dateFrom <= day) && day <= req.dateTo;
}

export class FaultEngine {
  private readonly opts: FaultOptions;
  private readonly rng: Rng;
  private readonly scriptUsed: number[];
  private htmlToggle = 0;
  // token bucket
  private tokens: number;
  private lastRefill: number;

  constructor(seed: number, opts: FaultOptions = {}) {
    this.opts = opts;
    this.rng = mulberry32(hashString(`${seed}|faults`));
    this.scriptUsed = (opts.script ?? []).map(() => 0);
    this.tokens = opts.rateLimitPerSecond ?? 0;
    this.lastRefill = performance.now();
  }

  /** Token bucket (capacity = rate = rateLimitPerSecond). True when the request must get a 429. */
  rateLimited(now = performance.now()): boolean {
    const rate = this.opts.rateLimitPerSecond;
    if (rate === undefined || rate <= 0) return false;
    this.tokens = Math.min(rate, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return false;
    }
    return true;
  }

  /** Decide the fault for a valid, authenticated request (script first, then random). */
  decide(req: RequestInfo): FaultDecision | undefined {
    const script = this.opts.script ?? [];
    for (let i = 0; i < script.length; i++) {
      const s = script[i]!;
      if ((this.scriptUsed[i] ?? 0) >= (s.times ?? 1)) continue;
      if (s.day !== undefined && !requestCoversDay(req, s.day)) continue;
      if (s.page !== undefined && s.page !== req.page) continue;
      this.scriptUsed[i] = (this.scriptUsed[i] ?? 0) + 1;
      return this.finish(s.fault, 'script', s.retryAfterSeconds);
    }
    return this.randomFault();
  }

  /** Scripted faults not yet fully consumed. */
  pendingScript(): ScriptedFault[] {
    return (this.opts.script ?? []).filter((s, i) => (this.scriptUsed[i] ?? 0) < (s.times ?? 1));
  }

  get slowMs(): number {
    return this.opts.slowMs ?? DEFAULT_SLOW_MS;
  }

  private randomFault(): FaultDecision | undefined {
    const o = this.opts;
    const bands: Array<[FaultKind | '5xx', number | undefined]> = [
      ['429', o.rate429],
      ['5xx', o.rate5xx],
      ['slow', o.rateSlow],
      ['malformed', o.rateMalformed],
      ['html', o.rateHtml],
      ['reset', o.rateReset],
      ['empty', o.rateEmptyPage],
    ];
    if (!bands.some(([, p]) => (p ?? 0) > 0)) return undefined; // keep the rng untouched when unused
    // One draw per request; the faults occupy consecutive, mutually exclusive bands of [0, 1).
    const r = this.rng();
    let acc = 0;
    for (const [kind, p] of bands) {
      acc += Math.max(0, p ?? 0);
      if (r < acc) {
        if (kind === '5xx') return this.finish((['500', '502', '503'] as const)[Math.floor(this.rng() * 3)]!, 'random');
        return this.finish(kind, 'random');
      }
    }
    return undefined;
  }

  private finish(kind: FaultKind, source: 'script' | 'random', retryAfter?: number | null): FaultDecision {
    const d: FaultDecision = { kind, source };
    if (kind === '429') {
      d.retryAfterSeconds =
        retryAfter !== undefined
          ? retryAfter
          : this.opts.retryAfterSeconds !== undefined
            ? this.opts.retryAfterSeconds
            : DEFAULT_RETRY_AFTER_SECONDS;
    }
    if (kind === 'html') {
      d.htmlStatus = source === 'random' ? (this.rng() < 0.5 ? 200 : 502) : this.htmlToggle++ % 2 === 0 ? 200 : 502;
    }
    return d;
  }
}

export function htmlErrorPage(status: number): string {
  const title = status === 200 ? 'Service Temporarily Unavailable' : `${status} Bad Gateway`;
  return (
    `<!DOCTYPE html>\n<html>\n<head><title>${title}</title></head>\n<body>\n` +
    `<center><h1>${title}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n`
  );
}

/** Cut a JSON document so it is certainly not valid JSON any more. */
export function truncateJson(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length * 0.6)));
}

/**
 * Drift rules as both simulators apply them: after `afterRequests` served requests covering a
 * rule's day, `addChats` chats are added to that day, `times` times. Returns the hook to call
 * after each served request.
 */
export function driftSchedule(
  rules: readonly DriftRule[],
  addChats: (rule: DriftRule) => void,
): (span: Pick<RequestInfo, 'dateFrom' | 'dateTo'>) => void {
  const state = rules.map((rule) => ({ rule, served: 0, fired: 0 }));
  return (span) => {
    for (const d of state) {
      if (!requestCoversDay(span, d.rule.day)) continue;
      d.served++;
      const times = d.rule.times ?? 1;
      const every = Math.max(1, d.rule.afterRequests);
      if (d.fired < times && d.served >= every * (d.fired + 1)) {
        d.fired++;
        addChats(d.rule);
      }
    }
  };
}
