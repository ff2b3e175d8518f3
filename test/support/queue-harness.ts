import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { FileArchiving } from '#pipeline/archive-files.ts';
import { handleQueuedTask, type TaskSender } from '#pipeline/queued-task-handler.ts';
import type { QueuedTaskResult } from '#pipeline/queued-task-result.ts';
import { type ArchiveTask, decodeTask, encodeTask } from '#shared/archive-task.ts';
import { mulberry32 } from '#simulator/index.ts';
import type { LivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';

export interface DeliveryFaults {
  /** Seed for the order and the faults; the same seed replays the same delivery history. */
  seed: number;
  /** Deliver messages in random order instead of first-in first-out. */
  shuffle?: boolean;
  /** Probability that a message is delivered a second time after it succeeded (at-least-once). */
  duplicateRate?: number;
  /** Probability that a delivery is handled twice at the same moment. */
  concurrentDuplicateRate?: number;
  /** Probability that a worker dies after its work but before acknowledging: the message comes back. */
  crashBeforeAckRate?: number;
  /** A delivery whose handler throws comes back later (SQS after the visibility timeout) instead of ending the loop. */
  redeliverFailed?: boolean;
}

/**
 * An SQS stand-in that misbehaves the way SQS may: out of order, twice, concurrently,
 * and redelivering messages whose worker died. Runs the worker Lambda's task handler.
 */
export async function deliverUntilEmpty(
  initial: readonly ArchiveTask[],
  deps: { client: LivechatClient; sink: LakeSink; maxAttempts: number; sender?: TaskSender; files?: FileArchiving },
  faults: DeliveryFaults,
): Promise<{ deliveries: number; results: QueuedTaskResult[] }> {
  const random = mulberry32(faults.seed);
  const source = v2Source(deps.client);
  const pending = initial.map(encodeTask);
  const results: QueuedTaskResult[] = [];
  let deliveries = 0;
  const redelivered = new Map<string, number>();
  const queue: TaskSender = { send: async (tasks) => void pending.push(...tasks.map(encodeTask)) };
  // A sender of the test's wraps the queue (to fail some sends); it still delivers into it.
  const sender: TaskSender = deps.sender
    ? { send: (tasks) => deps.sender!.send(tasks).then(() => queue.send(tasks)) }
    : queue;

  while (pending.length > 0) {
    if (deliveries > 10_000) throw new Error('delivery loop does not converge');
    const index = faults.shuffle ? Math.floor(random() * pending.length) : 0;
    const [body] = pending.splice(index, 1) as [string];
    const copies = random() < (faults.concurrentDuplicateRate ?? 0) ? 2 : 1;
    deliveries += copies;
    let handled: QueuedTaskResult[];
    try {
      handled = await Promise.all(
        Array.from({ length: copies }, () => handleQueuedTask(decodeTask(body), { ...deps, source, sender })),
      );
    } catch (error) {
      if (!faults.redeliverFailed) throw error;
      pending.push(body);
      continue;
    }
    results.push(...handled);
    // At most three extra deliveries of one message, as a DLQ's maxReceiveCount would bound it.
    const extra = redelivered.get(body) ?? 0;
    if (
      extra < 3 &&
      (random() < (faults.crashBeforeAckRate ?? 0) || (extra === 0 && random() < (faults.duplicateRate ?? 0)))
    ) {
      redelivered.set(body, extra + 1);
      pending.splice(Math.floor(random() * (pending.length + 1)), 0, body);
    }
  }
  return { deliveries, results };
}
