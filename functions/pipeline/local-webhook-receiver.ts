import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { RedactionConfig } from '#privacy/redaction.ts';
import { type ChatTask, decodeQueuedTask, encodeTask } from '#shared/archive-task.ts';
import { InvalidInputError, LivechatAuthError, LivechatRequestError, LivechatResponseError } from '#shared/errors.ts';
import type { ArchiveSource, ChatWritten } from '#sources/archive-source.ts';
import { recordLakeTimeZone } from './lake-time-zone.ts';
import { LocalTaskQueue } from './local-task-queue.ts';
import { handleQueuedTask } from './queued-task-handler.ts';

/** The path deliveries are posted to: `http://HOST:PORT/webhooks/livechat`. */
export const WEBHOOK_PATH = '/webhooks/livechat';

/** What the receiver answers a delivery, and the task it queues (the source's judge, e.g. sources/v36/webhook-delivery.ts). */
export interface DeliveryVerdict {
  outcome: string;
  status: number;
  reason: string;
  task?: ChatTask;
}

export interface LocalWebhookReceiverOptions {
  source: ArchiveSource;
  sink: LakeSink;
  /** Judges a body of at most `maxBodyBytes` (a longer one is answered 413 unread). */
  judge: (body: Uint8Array) => DeliveryVerdict;
  maxBodyBytes: number;
  /** The lake's zone, recorded once the first thread is written. */
  timeZone: string;
  host: string;
  port: number;
  redaction?: RedactionConfig;
  /** Chat tasks in flight at once. */
  concurrency?: number;
  /** Deliveries of one task before it is given up (each already retried by the API client). */
  maxDeliveries?: number;
  redeliveryDelayMs?: number;
  now?: () => Date;
  onDelivery?: (verdict: DeliveryVerdict) => void;
  onWritten?: (written: ChatWritten, threadId: string) => void;
  onFailed?: (threadId: string, error: unknown) => void;
}

export interface RunningWebhookReceiver {
  url: string;
  /** Stops accepting deliveries (503 from then on), finishes the tasks in flight and queued, closes the server. */
  stop(): Promise<void>;
}

/**
 * `npm run webhooks` locally: the receiver and the worker of the AWS path in one process. Each
 * delivery is judged (webhook-delivery.ts) and answered at once; an accepted one queues its chat task
 * on an in-process at-least-once queue, whose handler is the worker's (queued-task-handler.ts).
 */
export async function startLocalWebhookReceiver(options: LocalWebhookReceiverOptions): Promise<RunningWebhookReceiver> {
  const now = options.now ?? (() => new Date());
  let zoneRecorded = false;
  const queue = new LocalTaskQueue({
    concurrency: options.concurrency ?? 8,
    maxDeliveries: options.maxDeliveries ?? 3,
    redeliveryDelayMs: options.redeliveryDelayMs,
    handle: async (body) => {
      const task = decodeQueuedTask(body);
      const result = await handleQueuedTask(task, {
        source: options.source,
        sink: options.sink,
        sender: { send: async () => undefined },
        maxAttempts: 1,
        now,
        ...(options.redaction ? { redaction: options.redaction } : {}),
      });
      if (!zoneRecorded) {
        // Recorded once LiveChat has answered, as an archive run does.
        await recordLakeTimeZone(options.sink, options.timeZone, 'webhooks');
        zoneRecorded = true;
      }
      if (result.kind === 'chat-written' && task.kind === 'chat') options.onWritten?.(result, task.threadId);
    },
    isRetryable: (error) =>
      !(
        error instanceof LivechatAuthError ||
        error instanceof LivechatRequestError ||
        error instanceof LivechatResponseError ||
        error instanceof InvalidInputError
      ),
    onDeadLetter: (body, error) => {
      const task = decodeQueuedTask(body);
      options.onFailed?.(task.kind === 'chat' ? task.threadId : task.kind, error);
    },
  });
  let stopping = false;

  const server: Server = createServer((req, res) => {
    if (stopping) return answer(res, 503, 'stopping');
    const path = new URL(req.url ?? '/', 'http://receiver.local').pathname;
    if (path !== WEBHOOK_PATH) return answer(res, 404, 'not found');
    if (req.method !== 'POST') return answer(res, 405, 'POST only');
    readCapped(req, options.maxBodyBytes, (body) => {
      const verdict: DeliveryVerdict =
        body === undefined
          ? { outcome: 'too-large', status: 413, reason: `body over ${options.maxBodyBytes} bytes` }
          : options.judge(body);
      if (verdict.task) queue.send(encodeTask(verdict.task));
      options.onDelivery?.(verdict);
      answer(res, verdict.status, verdict.reason);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}${WEBHOOK_PATH}`,
    async stop() {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await queue.drain();
      await closed;
    },
  };
}

function answer(res: ServerResponse, status: number, reason: string): void {
  const body = JSON.stringify({ status: reason });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The body, or undefined when it is over the cap (reading stops there; the rest is drained, not kept). */
function readCapped(req: IncomingMessage, max: number, done: (body: Buffer | undefined) => void): void {
  const declared = Number(req.headers['content-length']);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = Number.isFinite(declared) && declared > max;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > max) over = true;
    else chunks.push(chunk);
  });
  req.on('end', () => done(over ? undefined : Buffer.concat(chunks)));
  req.on('error', () => req.destroy());
}
