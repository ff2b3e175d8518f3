import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { encodeTask, type ArchiveTask } from './archive-task.ts';

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
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly options: { maxAttempts?: number; baseDelayMs?: number } = {},
  ) {}

  async send(tasks: readonly ArchiveTask[]): Promise<SendReport> {
    const report: SendReport = { messages: tasks.length, batchCalls: 0 };
    for (let start = 0; start < tasks.length; start += BATCH_SIZE) {
      report.batchCalls += await this.sendBatch(tasks.slice(start, start + BATCH_SIZE));
    }
    return report;
  }

  private async sendBatch(tasks: readonly ArchiveTask[]): Promise<number> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let pending = tasks.map((task, index) => ({ Id: String(index), MessageBody: encodeTask(task) }));
    let calls = 0;
    let lastFailure = '';
    for (let attempt = 1; attempt <= maxAttempts && pending.length > 0; attempt += 1) {
      if (attempt > 1) await sleep((this.options.baseDelayMs ?? 200) * 2 ** (attempt - 2));
      calls += 1;
      const result = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
      const failed = new Set((result.Failed ?? []).map((entry) => entry.Id));
      const firstFailure = result.Failed?.[0];
      if (firstFailure) lastFailure = `${firstFailure.Code ?? 'unknown'}${firstFailure.SenderFault ? ' (sender fault)' : ''}`;
      pending = pending.filter((entry) => failed.has(entry.Id));
    }
    if (pending.length > 0) {
      throw new Error(`${pending.length} of ${tasks.length} archive tasks could not be queued after ${maxAttempts} attempts: ${lastFailure}`);
    }
    return calls;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
