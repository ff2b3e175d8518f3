/**
 * A local HTTP server that behaves like LiveChat Agent Chat Web API v3.6
 * `POST /v3.6/agent/action/list_archives` (see functions/sources/v36/list-archives-client.ts for
 * the documented shapes it follows), over the same deterministic ChatStore, FaultEngine
 * (random and scripted faults, drift, rate limit) as the v2 simulator, plus cursor pages and
 * cursor expiry.
 *
 * Auth: Basic base64(`accountId:token`) (Personal Access Token) or `Bearer <bearerToken>`.
 * Cursor: `page_id` is an opaque token for (query, offset); `filters`, `limit` or `sort_order`
 * sent with it is a 400 validation error, as documented. Order is by thread creation time
 * (`sort_order` asc or desc), so chats added by drift shift offsets, as on a live system.
 * Also `get_chat`, the Configuration API's `list_license_properties` (license-retention.ts) and
 * webhook methods (webhook-configuration.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { localDay } from '#shared/time-zone.ts';
import { type FileRequest, rebased } from './attachment-files.ts';
import { driftSchedule, type FaultDecision, htmlErrorPage, requestCoversDay, truncateJson } from './faults.ts';
import { LICENSE_PROPERTIES_PATH, replyLicenseProperties, retentionCutoffTs } from './license-retention.ts';
import { bump, type SharedSimulatorOptions, type SharedSimulatorStats, setUpSimulator } from './simulator-setup.ts';
import type { ChatFilters, DriftPosition } from './store.ts';
import type { Chat } from './synthetic-chats.ts';
import { toV36Archive, type V36Archive, v36ChatIdOf } from './v36-archives.ts';
import {
  type SimulatedWebhook,
  type WebhookConfigurationOptions,
  webhookConfiguration,
} from './webhook-configuration.ts';

export interface CursorExpiry {
  /** Only cursors of queries covering this day. */
  day?: string;
  /** Only the cursor of this page (2 = the first page_id request). */
  page?: number;
  times?: number;
}

export interface V36SimulatorOptions extends SharedSimulatorOptions, WebhookConfigurationOptions {
  /**
   * The account's IANA time zone (default UTC): the days `from`/`to` generate chats for. Requests
   * say their own zone through the offsets of `filters.from`/`filters.to`.
   */
  timeZone?: string;
  accountId?: string;
  token?: string;
  bearerToken?: string;
  /** When set, requests must carry `X-Region` with this value (else 421 misdirected_request). */
  region?: string;
  /** Scripted cursor expiry: matching page_id requests answer 400 validation "page_id expired". */
  cursorExpiry?: CursorExpiry[];
  /** Scripted get_chat failures: the first `times` requests for the thread (any thread if unset) answer `status`. */
  getChatFaults?: GetChatFault[];
}

export interface GetChatFault {
  threadId?: string;
  /** Default 503. */
  status?: 500 | 502 | 503 | 429;
  times?: number;
}

export interface V36SimulatorStats extends SharedSimulatorStats {
  /** Request bodies as received (for contract checks). */
  bodies: Array<Record<string, unknown>>;
}

export interface RunningV36Simulator {
  url: string;
  accountId: string;
  token: string;
  bearerToken: string;
  /** The v2 chats that started on `day` in `timeZone` (default: the account's), newest first; the lake `id` of each is its thread id. */
  chats(day: string, timeZone?: string): Chat[];
  archives(day: string, timeZone?: string): V36Archive[];
  addChats(day: string, count: number, position?: DriftPosition): Chat[];
  stats(): V36SimulatorStats;
  /** Every attachment request the simulator received (host, path, credentials seen). */
  fileRequests(): FileRequest[];
  /** The webhooks registered now through the Configuration API methods, secret_key included. */
  webhooks(): SimulatedWebhook[];
  close(): Promise<void>;
}

export const DEFAULT_ACCOUNT_ID = 'c0ffee00-1234-4abc-9def-000000000001';
export const DEFAULT_PAT = 'dal:demo-personal-access-token';
export const DEFAULT_BEARER = 'dal:demo-bearer-token';
const PATH = '/v3.6/agent/action/list_archives';
/** Agent Chat API v3.6 "Get Chat" (src/pages/messaging/agent-chat-api/index.mdx): `{chat_id, thread_id?}`. */
const GET_CHAT_PATH = '/v3.6/agent/action/get_chat';

interface Query {
  fromTs: number;
  toTs: number;
  filters: ChatFilters;
  limit: number;
  asc: boolean;
}
interface Cursor {
  q: Query;
  offset: number;
  page: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function parseTime(value: unknown, name: string): number {
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/.test(value)
  ) {
    throw new ApiError(400, 'validation', `filters.${name}: expected RFC 3339 date-time`);
  }
  return Date.parse(value.replace(/(\.\d{3})\d+/, '$1')) / 1000;
}

function parseQuery(body: Record<string, unknown>): Query {
  const filters = (body['filters'] ?? {}) as Record<string, unknown>;
  if (typeof filters !== 'object' || filters === null)
    throw new ApiError(400, 'validation', 'filters: expected object');
  const fromTs = filters['from'] === undefined ? 0 : parseTime(filters['from'], 'from');
  const toTs = filters['to'] === undefined ? Number.MAX_SAFE_INTEGER : parseTime(filters['to'], 'to');
  const limit = body['limit'] === undefined ? 10 : Number(body['limit']);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new ApiError(400, 'validation', 'limit: expected 1..100');
  const sort = body['sort_order'] ?? 'desc';
  if (sort !== 'asc' && sort !== 'desc') throw new ApiError(400, 'validation', 'sort_order: expected asc or desc');
  const f: ChatFilters = {};
  if (typeof filters['query'] === 'string') f.query = filters['query'];
  const groups = filters['group_ids'];
  if (Array.isArray(groups) && typeof groups[0] === 'number') f.group = groups[0];
  const agents = (filters['agents'] as { values?: unknown[] } | undefined)?.values;
  if (Array.isArray(agents) && typeof agents[0] === 'string') f.agent = agents[0];
  const goals = filters['goals'] as { values?: unknown[]; exists?: unknown } | undefined;
  if (Array.isArray(goals?.values) && typeof goals.values[0] === 'number') f.goal = goals.values[0];
  else if (typeof goals?.exists === 'boolean') f.hasGoal = goals.exists;
  return { fromTs, toTs, filters: f, limit, asc: sort === 'asc' };
}

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor)).toString('base64');
function decodeCursor(pageId: unknown): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(String(pageId), 'base64').toString('utf8')) as Cursor;
    if (typeof cursor.offset === 'number' && cursor.q) return cursor;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'validation', 'page_id: invalid');
}

function checkAuth(header: string | undefined, o: { accountId: string; token: string; bearerToken: string }): boolean {
  if (!header) return false;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1] === o.bearerToken;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!basic) return false;
  return Buffer.from(basic[1]!, 'base64').toString('utf8') === `${o.accountId}:${o.token}`;
}

export async function startV36Simulator(options: V36SimulatorOptions): Promise<RunningV36Simulator> {
  const creds = {
    accountId: options.accountId ?? DEFAULT_ACCOUNT_ID,
    token: options.token ?? DEFAULT_PAT,
    bearerToken: options.bearerToken ?? DEFAULT_BEARER,
  };
  const {
    store,
    faultOpts,
    faults,
    latencyMs,
    stats,
    later,
    reply: send,
    listen,
    serveFile,
    fileRequests,
  } = setUpSimulator('startV36Simulator', options, { bodies: [] as V36SimulatorStats['bodies'] });
  const expiry = (options.cursorExpiry ?? []).map((rule) => ({ rule, used: 0 }));
  const sendError = (
    res: ServerResponse,
    status: number,
    type: string,
    message: string,
    headers?: Record<string, string>,
  ) => send(res, status, JSON.stringify({ error: { type, message } }), headers);

  /** The account's days a query touches, for scripted faults and drift rules. */
  const daysOf = (q: Query) => ({
    dateFrom: localDay(Math.max(0, q.fromTs) * 1000, store.timeZone),
    dateTo: localDay(Math.min(q.toTs, 253402300799) * 1000, store.timeZone),
  });
  // Chats older than the license's retention are not served (or refused: `limit_reached`).
  const cutoffTs = retentionCutoffTs(options, store.timeZone);
  const matching = (q: Query): Chat[] => {
    const fromTs = cutoffTs === undefined ? q.fromTs : Math.max(q.fromTs, cutoffTs);
    const list = store.query({ ...q.filters, fromTs, toTs: q.toTs });
    list.sort((a, b) => a.started_timestamp - b.started_timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return q.asc ? list : list.reverse();
  };
  const pageBody = (cursor: Cursor, empty = false): string => {
    const all = matching(cursor.q);
    const chats = empty ? [] : all.slice(cursor.offset, cursor.offset + cursor.q.limit).map(toV36Archive);
    const next = cursor.offset + cursor.q.limit < all.length;
    return JSON.stringify({
      chats,
      found_chats: all.length,
      ...(next
        ? { next_page_id: encodeCursor({ q: cursor.q, offset: cursor.offset + cursor.q.limit, page: cursor.page + 1 }) }
        : {}),
      ...(cursor.offset > 0
        ? {
            previous_page_id: encodeCursor({
              q: cursor.q,
              offset: Math.max(0, cursor.offset - cursor.q.limit),
              page: cursor.page - 1,
            }),
          }
        : {}),
    });
  };
  // Drift adds chats inside the from/to of the request being paged (the rule's day of the
  // account's zone when it has neither): chats that end while their day or hour is listed.
  let listed: Query | undefined;
  const driftAfter = driftSchedule(faultOpts.drift ?? [], (rule) => {
    const day = store.dayBounds(rule.day);
    const window = listed
      ? { start: Math.max(day.start, Math.ceil(listed.fromTs)), end: Math.min(day.end, Math.floor(listed.toTs)) }
      : day;
    if (window.start <= window.end) store.addChatsWithin(rule.day, window, rule.addChats, rule.position ?? 'newest');
    else store.addChats(rule.day, rule.addChats, rule.position ?? 'newest');
    bump(stats.faultsInjected, 'drift');
  });
  const afterServed = (cursor: Cursor) => {
    listed = cursor.q;
    driftAfter(daysOf(cursor.q));
  };
  const applyFault = (res: ServerResponse, cursor: Cursor, fault: FaultDecision) => {
    bump(stats.faultsInjected, fault.kind);
    switch (fault.kind) {
      case '429':
        return sendError(
          res,
          429,
          'too_many_requests',
          'Too many requests',
          fault.retryAfterSeconds == null ? {} : { 'Retry-After': String(fault.retryAfterSeconds) },
        );
      case '500':
      case '503':
        return sendError(res, Number(fault.kind), 'internal', 'Internal server error');
      case '502':
        return send(res, 502, htmlErrorPage(502), { 'Content-Type': 'text/html' });
      case 'html': {
        const status = fault.htmlStatus ?? 502;
        return send(res, status, htmlErrorPage(status), { 'Content-Type': 'text/html' });
      }
      case 'malformed':
        return send(res, 200, truncateJson(pageBody(cursor)));
      case 'empty':
        return send(res, 200, pageBody(cursor, true));
      case 'reset':
        return later(latencyMs, () => res.socket?.destroy());
      case 'slow':
        return later(latencyMs + faults.slowMs, () => {
          if (res.destroyed || res.writableEnded) return;
          send(res, 200, pageBody(cursor), {}, 0);
          afterServed(cursor);
        });
    }
  };

  const webhookMethods = webhookConfiguration(options);
  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    if (serveFile(req, res)) return;
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://simulator.local');
    const served = [PATH, LICENSE_PROPERTIES_PATH, GET_CHAT_PATH].includes(url.pathname);
    if (!served && !webhookMethods.serves(url.pathname)) return sendError(res, 404, 'not_found', 'Not found');
    if (req.method !== 'POST') return sendError(res, 405, 'validation', 'Method not allowed');
    if (!checkAuth(req.headers.authorization, creds))
      return sendError(res, 401, 'authentication', 'Invalid access token');
    if (options.region !== undefined && req.headers['x-region'] !== options.region) {
      return sendError(res, 421, 'misdirected_request', `Wrong region, use ${options.region}`);
    }
    if (url.pathname === LICENSE_PROPERTIES_PATH) return replyLicenseProperties(options, raw, res, send);
    if (url.pathname === GET_CHAT_PATH) return replyGetChat(raw, res);
    if (webhookMethods.serves(url.pathname)) return webhookMethods.reply(url.pathname, raw, res, send);
    if (faults.rateLimited()) {
      bump(stats.faultsInjected, 'rateLimit');
      return sendError(res, 429, 'too_many_requests', 'Too many requests', { 'Retry-After': '1' });
    }
    let cursor: Cursor;
    try {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw || 'null') as Record<string, unknown>;
      } catch {
        throw new ApiError(400, 'validation', 'body is not JSON');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw new ApiError(400, 'validation', 'body must be an object');
      stats.bodies.push(body);
      if (body['page_id'] !== undefined) {
        const extra = ['filters', 'limit', 'sort_order'].filter((name) => body[name] !== undefined);
        if (extra.length) throw new ApiError(400, 'validation', `${extra.join(', ')} cannot be used with page_id`);
        cursor = decodeCursor(body['page_id']);
        const span = daysOf(cursor.q);
        const rule = expiry.find(
          (e) =>
            e.used < (e.rule.times ?? 1) &&
            (e.rule.day === undefined || requestCoversDay(span, e.rule.day)) &&
            (e.rule.page === undefined || e.rule.page === cursor.page),
        );
        if (rule) {
          rule.used++;
          bump(stats.faultsInjected, 'cursorExpired');
          throw new ApiError(400, 'validation', 'page_id expired');
        }
      } else {
        cursor = { q: parseQuery(body), offset: 0, page: 1 };
        if (
          options.retention?.beyond === 'limit_reached' &&
          cutoffTs !== undefined &&
          cursor.q.fromTs > 0 &&
          cursor.q.fromTs < cutoffTs
        ) {
          bump(stats.faultsInjected, 'limitReached');
          throw new ApiError(400, 'limit_reached', 'Limit reached');
        }
      }
    } catch (error) {
      if (error instanceof ApiError) return sendError(res, error.status, error.type, error.message);
      throw error;
    }
    const fault = faults.decide({ ...daysOf(cursor.q), page: cursor.page });
    if (fault) return applyFault(res, cursor, fault);
    send(res, 200, pageBody(cursor));
    afterServed(cursor);
  };

  const getChatFaults = (options.getChatFaults ?? []).map((rule) => ({ rule, used: 0 }));
  let threadIndex: { size: number; byId: Map<string, Chat> } | undefined;
  const chatOfThread = (threadId: string): Chat | undefined => {
    const all = store.all();
    if (threadIndex?.size !== all.length) threadIndex = { size: all.length, byId: new Map(all.map((c) => [c.id, c])) };
    return threadIndex.byId.get(threadId);
  };
  /**
   * get_chat answers the chat with the requested thread, in the shape of a list_archives entry (the
   * docs' response example has the same keys). The latest thread when `thread_id` is left out: each
   * simulated chat has one thread. Unknown ids answer 404 `not_found` (the docs name no status).
   */
  const replyGetChat = (raw: string, res: ServerResponse) => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw || 'null') as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'validation', 'body is not JSON');
    }
    if (!body || typeof body !== 'object' || typeof body['chat_id'] !== 'string')
      return sendError(res, 400, 'validation', 'chat_id: required string');
    stats.bodies.push(body);
    const chatId = body['chat_id'];
    const threadId = body['thread_id'];
    if (threadId !== undefined && typeof threadId !== 'string')
      return sendError(res, 400, 'validation', 'thread_id: expected string');
    const fault = getChatFaults.find(
      (f) => f.used < (f.rule.times ?? 1) && (f.rule.threadId === undefined || f.rule.threadId === threadId),
    );
    if (fault) {
      fault.used++;
      bump(stats.faultsInjected, 'getChat');
      const status = fault.rule.status ?? 503;
      return sendError(res, status, status === 429 ? 'too_many_requests' : 'internal', 'Internal server error');
    }
    const chat = threadId ? chatOfThread(threadId) : undefined;
    const latest = threadId === undefined ? store.all().find((c) => v36ChatIdOf(c.id) === chatId) : undefined;
    const found = chat ?? latest;
    if (!found || v36ChatIdOf(found.id) !== chatId) return sendError(res, 404, 'not_found', 'Chat not found');
    if (cutoffTs !== undefined && found.started_timestamp < cutoffTs)
      return sendError(res, 404, 'not_found', 'Chat not found');
    send(res, 200, JSON.stringify(toV36Archive(found)));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        sendError(res, 500, 'internal', `Simulator bug: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  });
  const host = await listen(server);

  return {
    url: host.url,
    ...creds,
    chats: (day, timeZone) => rebased(store.chatsOfDay(day, timeZone), host.url),
    archives: (day, timeZone) => rebased(store.chatsOfDay(day, timeZone).reverse().map(toV36Archive), host.url),
    fileRequests: () => structuredClone(fileRequests),
    webhooks: () => webhookMethods.registered(),
    addChats: (day, count, position = 'newest') => rebased(store.addChats(day, count, position), host.url),
    stats: () => structuredClone(stats),
    close: () => host.close(),
  };
}
