import PQueue from 'p-queue';

export interface LocalTaskQueueOptions {
  concurrency: number;
  /** Deliveries of one message before it is dead-lettered, as SQS maxReceiveCount. */
  maxDeliveries: number;
  handle: (body: string) => Promise<void>;
  /** Errors worth another delivery; anything else is dead-lettered at once. */
  isRetryable: (error: unknown) => boolean;
  onDeadLetter: (body: string, error: unknown) => void;
  redeliveryDelayMs?: number;
}

/**
 * The local stand-in for SQS: message bodies are strings, handled at most
 * `concurrency` at a time and redelivered on failure (at-least-once), so the same
 * task handlers run here as in the worker Lambda.
 */
export class LocalTaskQueue {
  private readonly queue: PQueue;
  private stopped = false;
  private readonly waiting = new Set<Promise<void>>();

  constructor(private readonly options: LocalTaskQueueOptions) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Higher priority runs first: pages before new days keeps memory flat on long ranges. */
  send(body: string, priority = 0): void {
    if (!this.stopped) void this.queue.add(() => this.deliver(body, 1), { priority });
  }

  /** Drops messages not yet started; those in flight finish. */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
  }

  /** Resolves when no message is queued, in flight or waiting for redelivery. */
  async drain(): Promise<void> {
    await this.queue.onIdle();
    while (this.waiting.size > 0) {
      await Promise.all(this.waiting);
      await this.queue.onIdle();
    }
  }

  private async deliver(body: string, delivery: number): Promise<void> {
    try {
      await this.options.handle(body);
    } catch (error) {
      if (this.stopped) return;
      if (delivery < this.options.maxDeliveries && this.options.isRetryable(error)) {
        this.redeliverLater(body, delivery + 1);
        return;
      }
      this.options.onDeadLetter(body, error);
    }
  }

  /** Like an SQS visibility timeout: the message comes back after a pause, without holding a slot. */
  private redeliverLater(body: string, delivery: number): void {
    const waited = new Promise<void>((resolve) => setTimeout(resolve, this.options.redeliveryDelayMs ?? 1_000)).then(
      () => {
        this.waiting.delete(waited);
        if (!this.stopped) void this.queue.add(() => this.deliver(body, delivery), { priority: 1 });
      },
    );
    this.waiting.add(waited);
  }
}
