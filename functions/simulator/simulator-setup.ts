/**
 * The start-up both simulators (v2 and v3.6) share: the options that decide their chats and
 * faults, and what those options become (the seeded chat store, the fault engine, request
 * counters, delayed replies and the server they are hosted on).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type FileRequest, isFilePath, serveFile, withFileOrigins } from './attachment-files.ts';
import { FaultEngine, type FaultOptions } from './faults.ts';
import { type HostedServer, hostServer, type Reply, replyAfter } from './http-host.ts';
import type { LicenseOptions } from './license-retention.ts';
import { ChatStore } from './store.ts';
import { isValidDay, type MessagesPerChat } from './synthetic-chats.ts';

export interface SharedSimulatorOptions extends LicenseOptions {
  seed?: number; // default 42
  from: string; // YYYY-MM-DD inclusive: days that have chats
  to: string;
  /** A number is the mean (each day varies deterministically around it); a function gives the exact count. Default 60. */
  chatsPerDay?: number | ((day: string) => number);
  /** The account's IANA time zone (default UTC): the days `from`/`to` generate chats for. */
  timeZone?: string;
  latencyMs?: number; // added to every API response
  /** Added to every attachment response (default 0: files come at once). */
  fileLatencyMs?: number;
  /** Messages of a chat that was not missed (default 2..5; longer conversations make bigger pages). */
  messagesPerChat?: MessagesPerChat;
  faults?: FaultOptions;
  host?: string; // default 127.0.0.1
  port?: number; // default 0 = OS-chosen
}

export interface SharedSimulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  faultsInjected: Record<string, number>;
}

export const bump = (rec: Record<string, number>, key: string): void => {
  rec[key] = (rec[key] ?? 0) + 1;
};

export interface SimulatorSetup<S extends SharedSimulatorStats> {
  seed: number;
  store: ChatStore;
  faultOpts: FaultOptions;
  faults: FaultEngine;
  latencyMs: number;
  stats: S;
  /** Runs `fn` after `ms` on the hosted server (only call it once `listen` has resolved). */
  later(ms: number, fn: () => void): void;
  /** Sends after the latency and counts the status in `stats.byStatus`. */
  reply: Reply;
  listen(server: Server): Promise<HostedServer>;
  /** Serves an attachment URL's request (true), else false: the API handles it. */
  serveFile(req: IncomingMessage, res: ServerResponse): boolean;
  /** Every attachment request, as received (host, path, whether credentials came with it). */
  fileRequests: FileRequest[];
  /** The served text with the simulator's own origin in file URLs. */
  rebase(text: string): string;
}

/** `name` (the start function) prefixes the error for days that are not YYYY-MM-DD. */
export function setUpSimulator<Extra extends object>(
  name: string,
  options: SharedSimulatorOptions,
  extraStats: Extra,
): SimulatorSetup<SharedSimulatorStats & Extra> {
  if (!isValidDay(options.from) || !isValidDay(options.to)) {
    throw new Error(`${name}: from/to must be YYYY-MM-DD days (got ${options.from}..${options.to})`);
  }
  const seed = options.seed ?? 42;
  const store = new ChatStore({
    seed,
    from: options.from,
    to: options.to,
    chatsPerDay: options.chatsPerDay,
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    ...(options.messagesPerChat ? { messagesPerChat: options.messagesPerChat } : {}),
  });
  const faultOpts = options.faults ?? {};
  const latencyMs = Math.max(0, options.latencyMs ?? 0);
  const stats = { requests: 0, byStatus: {}, faultsInjected: {}, ...extraStats };
  // Replies are only sent once the server is hosted.
  let hosted: HostedServer | undefined;
  const later = (ms: number, fn: () => void): void => hosted!.later(ms, fn);
  const fileRequests: FileRequest[] = [];
  const rebase = (text: string) => (hosted ? withFileOrigins(text, hosted.url) : text);
  const sendReply = replyAfter(later, latencyMs, (status) => bump(stats.byStatus, String(status)));
  return {
    seed,
    store,
    faultOpts,
    faults: new FaultEngine(seed, faultOpts),
    latencyMs,
    stats,
    later,
    // Chats are stored with placeholder file origins; every reply names the running server instead
    // (bytes are sent as they are: made from a reply's text that was rebased already).
    reply: (res, status, body, headers, delayMs) =>
      sendReply(res, status, typeof body === 'string' ? rebase(body) : body, headers, delayMs),
    listen: async (server) => {
      hosted = await hostServer(server, options.host, options.port);
      return hosted;
    },
    serveFile: (req, res) => {
      const fileLatencyMs = options.fileLatencyMs ?? 0;
      if (fileLatencyMs <= 0 || !isFilePath(req.url ?? '/')) return serveFile(req, res, hosted!.url, fileRequests);
      later(fileLatencyMs, () => serveFile(req, res, hosted!.url, fileRequests));
      return true;
    },
    fileRequests,
    rebase,
  };
}
