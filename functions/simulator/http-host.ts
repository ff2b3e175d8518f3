/** What both simulators (v2 and v3.6) need around node:http: delayed replies and a clean shutdown. */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HostedServer {
  url: string; // e.g. http://127.0.0.1:43123 (no trailing slash)
  port: number;
  /** Runs `fn` after `ms` (at once for 0); pending calls are dropped by close(). */
  later(ms: number, fn: () => void): void;
  /** Stops listening, drops pending replies and destroys open connections. */
  close(): Promise<void>;
}

export async function hostServer(server: Server, host = '127.0.0.1', port = 0): Promise<HostedServer> {
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostForUrl}:${addr.port}`,
    port: addr.port,
    later(ms, fn) {
      if (ms <= 0) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}

export type Reply = (
  res: ServerResponse,
  status: number,
  /** Text (sent as UTF-8), or the bytes themselves. */
  body: string | Buffer,
  headers?: Record<string, string>,
  delayMs?: number,
) => void;

/** A reply sender: JSON unless headers say otherwise, sent after the latency unless the client has gone. */
export function replyAfter(
  later: (ms: number, fn: () => void) => void,
  latencyMs: number,
  onStatus: (status: number) => void,
): Reply {
  return (res, status, body, headers = {}, delayMs = latencyMs) =>
    later(delayMs, () => {
      if (res.destroyed || res.writableEnded) return;
      onStatus(status);
      const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(buf.length), ...headers });
      res.end(buf);
    });
}
