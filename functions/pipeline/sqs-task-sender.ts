import type { SQSClient } from '@aws-sdk/client-sqs';
import { encodeTask, type QueuedTask } from '#shared/archive-task.ts';

const BATCH_SIZE = 10;

export interface SendReport {
  messages: number;
  batchCalls: number;
}

/**
 * Puts archive tasks on the SQS queue with SendMessageBatch, ten at a time. Entries
 * that SQS reports in `Failed` are sent again with backoff; if some still fail the
 * send throws, so the caller fails loudly (and is retried) instead of losing work.
 */
export class SqsTaskSender {
  /**
   * `sqs` may be a client or a function that makes one on first use: the worker loads the
   * SQS SDK only when a task has follow-up work, which keeps it off page batches' cold start.
   */
  constructor(
    private readonly sqs: SQSClient | (() => Promise<SQSClient>),
    private readonly queueUrl: string,
    private readonly options: { maxAttempts?: number; baseDelayMs?: number } = {},
  ) {}

  private client?: Promise<{
    sqs: SQSClient;
    SendMessageBatchCommand: typeof import('@aws-sdk/client-sqs').SendMessageBatchCommand;
  }>;

  async send(tasks: readonly QueuedTask[]): Promise<SendReport> {
    const report: SendReport = { messages: tasks.length, batchCalls: 0 };
    if (tasks.length === 0) return report;
    for (let start = 0; start < tasks.length; start += BATCH_SIZE) {
      report.batchCalls += await this.sendBatch(tasks.slice(start, start + BATCH_SIZE));
    }
    return report;
  }

  private connect() {
    this.client ??= (async () => {
      const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
      const sqs = typeof this.sqs === 'function' ? await this.sqs() : this.sqs;
      return { sqs, SendMessageBatchCommand };
    })();
    return this.client;
  }

  private async sendBatch(tasks: readonly QueuedTask[]): Promise<number> {
    const { sqs, SendMessageBatchCommand } = await this.connect();
    const maxAttempts = this.options.maxAttempts ?? 5;
    let pending = tasks.map((task, index) => ({ Id: String(index), MessageBody: encodeTask(task) }));
    let calls = 0;
    let lastFailure = '';
    for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 1) await sleep((this.options.baseDelayMs ?? 200) * 2 ** (attempt - 2));
      calls += 1;
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = new Set((result.Failed ?? []).map((entry) => entry.Id));
      const firstFailure = result.Failed?.[0];
      if (firstFailure)
        lastFailure = `${firstFailure.Code ?? 'unknown'}${firstFailure.SenderFault ? ' (sender fault)' : ''}`;
      pending = pending.filter((entry) => failed.has(entry.Id));
    }
    if (pending.length > 0) {
      throw new Error(
        `${pending.length} of ${tasks.length} archive tasks could not be queued after ${maxAttempts} attempts: ${lastFailure}`,
      );
    }
    return calls;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
