/**
 * A local HTTP server that behaves like LiveChat REST API v2 `GET /chats`
 * (see shared/seed/livechat-rest-api-v2-list-chats.txt), with deterministic
 * synthetic data, drift and fault injection for tests and benchmarks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { canonicalTimeZone, localDay, localDayBounds } from '#shared/time-zone.ts';
import { type FileRequest, rebased } from './attachment-files.ts';
import { driftSchedule, type FaultDecision, htmlErrorPage, truncateJson } from './faults.ts';
import { LICENSE_PROPERTIES_PATH, replyLicenseProperties, retentionCutoffTs } from './license-retention.ts';
import { bump, type SharedSimulatorOptions, type SharedSimulatorStats, setUpSimulator } from './simulator-setup.ts';
import type { ChatFilters, DriftPosition } from './store.ts';
import { type Chat, daysBetween, isValidDay } from './synthetic-chats.ts';
import { DEFAULT_ACCOUNT_ID } from './v36-simulator.ts';

export type { FaultOptions } from './faults.ts';
export type { Chat } from './synthetic-chats.ts';

export interface SimulatorOptions extends SharedSimulatorOptions {
  /** Agent login e-mail: the Basic-auth user name of PATs and legacy API keys. Default 'demo@example.com'. */
  login?: string;
  /** Personal Access Token, Basic base64(login:pat). Default 'demo-pat'. */
  pat?: string;
  /**
   * Account ID: the Basic-auth user name of a PAT on the v3 APIs (here Configuration API
   * `list_license_properties`, which tells the license's retention). Default: the v3.6 simulator's.
   */
  accountId?: string;
  /** Legacy API key, sent like a PAT. Default 'demo-api-key'. */
  apiKey?: string;
  /** OAuth access token (or any bearer token), `Authorization: Bearer <token>`. Default 'demo-bearer-token'. */
  bearerToken?: string;
  /**
   * Data centre of the account (default 'dal', the API's default). A request whose `X-Region`
   * (absent = dal) names another one is answered `misdirected_request` naming this region.
   */
  region?: string;
  /** Status of the misdirected_request answer (undocumented; default 421, "Misdirected Request"). */
  misdirectedStatus?: number;
  /**
   * Fields no LiveChat doc describes, added to every chat served (an object value is merged into
   * the chat's object of that name, e.g. `{ visitor: { language: 'pl' } }`): for unknown-field tests.
   */
  extraFields?: Record<string, unknown>;
  /** A lifecycle header sent with every response, e.g. { header: 'Deprecation', value: '2027-03-01' }. */
  lifecycle?: { header: 'Legacy' | 'Deprecation'; value: string };
  /** "Today" (YYYY-MM-DD) used as the default date_to, as the real API does. Default: the current date in the zone. */
  today?: string;
  /**
   * The account's IANA time zone (default UTC): the days `from`/`to` generate, and where
   * `date_from`/`date_to` are cut when a request sends no `timezone` parameter.
   */
  timeZone?: string;
  /**
   * For benchmarks: every day's pages (the account's zone, no filters) are serialized once at
   * start, any other page the first time it is asked for, and then served from memory. A
   * benchmark measures an archiver on the same cores as the simulator: without this, each
   * answer's JSON.stringify (about half a millisecond for a 120 KB page) is CPU the archiver
   * waits for. Refused with drift, which changes the days.
   */
  cachePages?: boolean;
}

export interface SimulatorStats extends SharedSimulatorStats {
  authHeadersSeen: number;
  /** Requests per `timezone` parameter value (`(none)` when a request sent none). */
  timeZoneParams: Record<string, number>;
}

export interface RunningSimulator {
  url: string; // e.g. http://127.0.0.1:43123 (no trailing slash)
  port: number;
  login: string;
  pat: string;
  apiKey: string;
  bearerToken: string;
  accountId: string;
  /** A PAT credential for the archiver's v2 client: `{ kind: 'pat', login, pat }`. */
  credentials: { kind: 'pat'; login: string; pat: string };
  /** The chats that started on `day` in `timeZone` (default: the account's zone), newest first. */
  chats(day: string, timeZone?: string): Chat[];
  allChats(): Chat[];
  addChats(day: string, count: number, position?: 'newest' | 'random'): Chat[];
  stats(): SimulatorStats;
  /** Every attachment request the simulator received (host, path, credentials seen). */
  fileRequests(): FileRequest[];
  /** Stored text with this simulator's origin in file URLs (what it serves). */
  rebase(text: string): string;
  close(): Promise<void>;
}

export const PAGE_SIZE = 25;
/** LiveChat serves at most the latest 25 000 records (1 000 pages) of one query. */
export const MAX_PAGES = 1000;
export const DEFAULT_LOGIN = 'demo@example.com';
export const DEFAULT_API_KEY = 'demo-api-key';
export const DEFAULT_PAT = 'demo-pat';
export const DEFAULT_BEARER_TOKEN = 'demo-bearer-token';

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

interface ParsedRequest {
  filters: ChatFilters;
  page: number;
  dateFrom: string | undefined;
  dateTo: string;
  /** The zone `dateFrom`/`dateTo` are days in. */
  zone: string;
}

/**
 * `date_from`/`date_to` are days in the request's `timezone` (documented: "timezone in the TZ
 * format (e.g. America/Phoenix)"), else in the account's zone; a chat is on a day when it
 * started on it there.
 */
function parseQuery(params: URLSearchParams, accountZone: string, today: (zone: string) => string): ParsedRequest {
  const f: ChatFilters = {};
  const date = (name: string): string | undefined => {
    const v = params.get(name);
    if (v === null) return undefined;
    if (!isValidDay(v)) throw new HttpError(400, `Invalid ${name}: expected YYYY-MM-DD`);
    return v;
  };
  const zoneParam = params.get('timezone');
  const zone = zoneParam === null ? accountZone : canonicalTimeZone(zoneParam);
  if (zone === undefined) throw new HttpError(400, 'Invalid timezone: expected a TZ name such as America/Phoenix');
  const dateFrom = date('date_from');
  const dateTo = date('date_to') ?? today(zone);
  if (dateFrom !== undefined) f.fromTs = localDayBounds(dateFrom, zone).start / 1000;
  f.toTs = localDayBounds(dateTo, zone).end / 1000 - 1;

  let page = 1;
  const pageRaw = params.get('page');
  if (pageRaw !== null) {
    if (!/^[1-9]\d{0,8}$/.test(pageRaw)) throw new HttpError(400, 'Invalid page: expected a positive integer');
    page = Number(pageRaw);
  }

  const type = params.get('type');
  if (type !== null) {
    if (type !== 'chat' && type !== 'missed_chat')
      throw new HttpError(400, 'Invalid type: expected chat or missed_chat');
    f.type = type;
  }
  const nonEmpty = (name: string): string | undefined => {
    const v = params.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const visitorId = nonEmpty('visitor_id');
  if (visitorId !== undefined) f.visitorId = visitorId;
  const query = nonEmpty('query');
  if (query !== undefined) f.query = query;
  const agent = nonEmpty('agent');
  if (agent !== undefined) f.agent = agent;

  const intParam = (name: string): number | undefined => {
    const v = params.get(name);
    if (v === null) return undefined;
    if (!/^\d{1,9}$/.test(v)) throw new HttpError(400, `Invalid ${name}: expected a number`);
    return Number(v);
  };
  const group = intParam('group');
  if (group !== undefined) f.group = group;
  const goal = intParam('goal');
  if (goal !== undefined) f.goal = goal;

  const hasGoal = params.get('has_goal');
  if (hasGoal !== null) {
    if (hasGoal !== '1' && hasGoal !== '0') throw new HttpError(400, 'Invalid has_goal: expected 1 or 0');
    f.hasGoal = hasGoal === '1';
  }
  const rate = params.get('rate');
  if (rate !== null) {
    if (rate !== 'rated' && rate !== 'not_rated' && rate !== 'rated_good' && rate !== 'rated_bad') {
      throw new HttpError(400, 'Invalid rate: expected rated, not_rated, rated_good or rated_bad');
    }
    f.rate = rate;
  }
  return { filters: f, page, dateFrom, dateTo, zone };
}

/** V2PAGE "Authentication": Bearer <token>, or Basic base64(login:PAT); a legacy API key works like a PAT. */
function checkAuth(
  header: string | undefined,
  accepted: { login: string; secrets: readonly string[]; bearerToken: string },
): boolean {
  if (!header) return false;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1] === accepted.bearerToken;
  const m = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i >= 0 && decoded.slice(0, i) === accepted.login && accepted.secrets.includes(decoded.slice(i + 1));
}

export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const login = options.login ?? DEFAULT_LOGIN;
  const apiKey = options.apiKey ?? DEFAULT_API_KEY;
  const pat = options.pat ?? DEFAULT_PAT;
  const bearerToken = options.bearerToken ?? DEFAULT_BEARER_TOKEN;
  const accepted = { login, secrets: [pat, apiKey], bearerToken };
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  // The v3 APIs take a PAT with the account ID as its user name (and no legacy API key).
  const acceptedV3 = { login: accountId, secrets: [pat], bearerToken };
  const region = options.region ?? 'dal';
  const { store, faultOpts, faults, latencyMs, stats, later, reply, listen, serveFile, fileRequests, rebase } =
    setUpSimulator<Omit<SimulatorStats, keyof SharedSimulatorStats>>('startSimulator', options, {
      authHeadersSeen: 0,
      timeZoneParams: {},
    });
  if (options.today !== undefined && !isValidDay(options.today))
    throw new Error('startSimulator: today must be YYYY-MM-DD');
  for (const rule of faultOpts.drift ?? []) {
    if (!isValidDay(rule.day)) throw new Error(`startSimulator: drift day must be YYYY-MM-DD (got ${rule.day})`);
  }
  if (options.cachePages && faultOpts.drift?.length) {
    throw new Error('startSimulator: cachePages cannot be combined with drift (it changes the days)');
  }
  // Drift adds chats to the day being listed, in the zone the request cut it in: chats that
  // end while their day is paged.
  let listedZone = store.timeZone;
  const driftAfter = driftSchedule(faultOpts.drift ?? [], (rule) => {
    store.addChats(rule.day, rule.addChats, rule.position ?? 'newest', listedZone);
    bump(stats.faultsInjected, 'drift');
  });

  const lifecycle: Record<string, string> = options.lifecycle
    ? { [options.lifecycle.header]: options.lifecycle.value }
    : {};
  const send: typeof reply = (res, status, body, headers = {}, delayMs) =>
    reply(res, status, body, { ...lifecycle, ...headers }, delayMs);
  const sendJson = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void =>
    send(res, status, JSON.stringify(value), headers);

  const afterServed = (req: ParsedRequest): void => {
    listedZone = req.zone;
    driftAfter(req);
  };

  const withExtraFields = options.extraFields ? (chat: Chat) => mergeFields(chat, options.extraFields!) : undefined;
  // Chats older than the license's retention are not served: v2 documents no error for them.
  const cutoffTs = retentionCutoffTs(options, store.timeZone);
  const pageBody = (req: ParsedRequest, empty: boolean): string => {
    const fromTs = Math.max(req.filters.fromTs ?? 0, cutoffTs ?? 0);
    const matching = store.query({ ...req.filters, ...(fromTs > 0 ? { fromTs } : {}) });
    const total = matching.length;
    // The docs: "the results are limited to the latest 25000 records ... exactly 1000 pages".
    const pages = Math.min(Math.ceil(total / PAGE_SIZE), MAX_PAGES);
    const served =
      empty || req.page > MAX_PAGES ? [] : matching.slice((req.page - 1) * PAGE_SIZE, req.page * PAGE_SIZE);
    const chats = withExtraFields ? served.map(withExtraFields) : served;
    return JSON.stringify({ chats, total, pages });
  };
  const cachedPages = new Map<string, Buffer>();
  /** A page's answer: serialized each time, or once with `cachePages` (the filters hold the day's bounds). */
  const servedPage = (req: ParsedRequest): string | Buffer => {
    if (!options.cachePages) return pageBody(req, false);
    const key = `${req.page} ${JSON.stringify(req.filters)}`;
    let body = cachedPages.get(key);
    if (!body) {
      body = Buffer.from(rebase(pageBody(req, false)), 'utf8'); // the bytes as sent: file origins named
      cachedPages.set(key, body);
    }
    return body;
  };
  const applyFault = (res: ServerResponse, req: ParsedRequest, fault: FaultDecision): void => {
    bump(stats.faultsInjected, fault.kind);
    switch (fault.kind) {
      case '429': {
        const h: Record<string, string> = {};
        if (fault.retryAfterSeconds !== null && fault.retryAfterSeconds !== undefined) {
          h['Retry-After'] = String(fault.retryAfterSeconds);
        }
        return sendJson(res, 429, { error: 'Too many requests' }, h);
      }
      case '500':
        return sendJson(res, 500, { error: 'Internal server error' });
      case '502':
        return send(res, 502, htmlErrorPage(502), { 'Content-Type': 'text/html' });
      case '503':
        return sendJson(res, 503, { error: 'Service unavailable' });
      case 'html': {
        const status = fault.htmlStatus ?? 502;
        return send(res, status, htmlErrorPage(status), { 'Content-Type': 'text/html' });
      }
      case 'malformed':
        return send(res, 200, truncateJson(pageBody(req, false)));
      case 'empty':
        return send(res, 200, pageBody(req, true));
      case 'reset':
        return later(latencyMs, () => {
          bump(stats.byStatus, 'reset');
          res.socket?.destroy();
        });
      case 'slow': {
        // The page is computed (and drift counted) when the response is finally sent.
        return later(latencyMs + faults.slowMs, () => {
          if (res.destroyed || res.writableEnded) {
            bump(stats.byStatus, 'aborted');
            return;
          }
          send(res, 200, pageBody(req, false), {}, 0);
          afterServed(req);
        });
      }
    }
  };

  /** Configuration API v3.6 `list_license_properties`, on the same host as the v2 API. */
  const handleLicenseProperties = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    if (req.method !== 'POST')
      return sendJson(res, 405, { error: { type: 'validation', message: 'Method not allowed' } });
    if (!checkAuth(req.headers.authorization, acceptedV3)) {
      return sendJson(res, 401, { error: { type: 'authentication', message: 'Invalid access token' } });
    }
    if ((req.headers['x-region'] ?? 'dal') !== region) {
      return sendJson(res, options.misdirectedStatus ?? 421, {
        error: { type: 'misdirected_request', message: 'Wrong region', data: { region } },
      });
    }
    replyLicenseProperties(options, body, res, send);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    if (serveFile(req, res)) return;
    stats.requests++;
    if (req.headers.authorization !== undefined) stats.authHeadersSeen++;
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    if (url.pathname === LICENSE_PROPERTIES_PATH) return handleLicenseProperties(req, res, body);
    if (url.pathname !== '/chats' && url.pathname !== '/chats/') {
      return sendJson(res, 404, { error: 'Not found' });
    }
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'Method not allowed' }, { Allow: 'GET' });
    if (!checkAuth(req.headers.authorization, accepted)) {
      return sendJson(
        res,
        401,
        { error: 'Authentication failed' },
        { 'WWW-Authenticate': 'Basic realm="LiveChat API"' },
      );
    }
    const requestRegion = req.headers['x-region'] ?? 'dal';
    if (requestRegion !== region) {
      bump(stats.faultsInjected, 'misdirected');
      return sendJson(res, options.misdirectedStatus ?? 421, {
        error: { type: 'misdirected_request', message: 'Wrong region', data: { region } },
      });
    }
    if (faults.rateLimited()) {
      bump(stats.faultsInjected, 'rateLimit');
      return sendJson(res, 429, { error: 'Too many requests' }, { 'Retry-After': '1' });
    }
    const version = req.headers['x-api-version'];
    if (version !== '2') {
      return sendJson(res, 400, {
        error: version === undefined ? 'Missing X-API-Version header' : `Unsupported X-API-Version: ${String(version)}`,
      });
    }
    bump(stats.timeZoneParams, url.searchParams.get('timezone') ?? '(none)');
    let parsed: ParsedRequest;
    try {
      parsed = parseQuery(url.searchParams, store.timeZone, (zone) => options.today ?? localDay(Date.now(), zone));
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message });
      throw e;
    }
    const fault = faults.decide({ dateFrom: parsed.dateFrom, dateTo: parsed.dateTo, page: parsed.page });
    if (fault) return applyFault(res, parsed, fault);
    send(res, 200, servedPage(parsed));
    afterServed(parsed);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        sendJson(res, 500, { error: `Simulator bug: ${e instanceof Error ? e.message : String(e)}` });
      }
    });
  });
  const host = await listen(server);
  if (options.cachePages) {
    for (const day of daysBetween(options.from, options.to)) {
      const first = parseQuery(new URLSearchParams({ date_from: day, date_to: day }), store.timeZone, () => day);
      const pages = Math.min(Math.ceil(store.query(first.filters).length / PAGE_SIZE), MAX_PAGES);
      for (let page = 1; page <= pages; page += 1) servedPage({ ...first, page });
    }
  }

  return {
    url: host.url,
    port: host.port,
    login,
    pat,
    apiKey,
    bearerToken,
    accountId,
    credentials: { kind: 'pat', login, pat },
    chats: (day, timeZone) => rebased(store.chatsOfDay(day, timeZone), host.url),
    allChats: () => rebased(store.all(), host.url),
    fileRequests: () => structuredClone(fileRequests),
    rebase,
    addChats: (day, count, position: DriftPosition = 'newest') => {
      cachedPages.clear();
      return rebased(store.addChats(day, count, position), host.url);
    },
    stats: () => structuredClone(stats),
    close: () => host.close(),
  };
}

function mergeFields(chat: Chat, extra: Record<string, unknown>): Chat {
  const merged: Record<string, unknown> = { ...chat };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    const bothObjects = [current, value].every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    merged[key] = bothObjects ? { ...(current as object), ...(value as object) } : value;
  }
  return merged as Chat;
}
