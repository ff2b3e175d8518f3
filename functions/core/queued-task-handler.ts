import { dayTask, type ArchiveTask, type DayTask, type PageTask } from './archive-task.ts';
import { planDay } from './day-planner.ts';
import { removePagesBeyond } from './day-partition.ts';
import { dayPlanKey, replanClaimKey } from './lake-layout.ts';
import type { LivechatClient } from './livechat-client.ts';
import { archivePage } from './page-archiver.ts';
import type { LakeSink } from './sinks/lake-sink.ts';

export interface TaskSender {
  send(tasks: readonly ArchiveTask[]): Promise<unknown>;
}

export interface QueuedTaskDeps {
  client: LivechatClient;
  sink: LakeSink;
  sender: TaskSender;
  /** Passes over one day before drift makes it count as incomplete. */
  maxAttempts: number;
  now?: () => Date;
}

export type QueuedTaskResult =
  | { kind: 'day-planned'; day: string; attempt: number; total: number; pages: number; staleRemoved: number }
  | { kind: 'page-written'; day: string; page: number; chats: number; bytes: number }
  | { kind: 'drift'; day: string; page: number; attempt: number; reason: string; next: 'replanned' | 'already-replanned' | 'gave-up' };

/**
 * One queued task, as the worker Lambda runs it. A day task plans the day and
 * queues its pages; a page task archives its page. Drift queues one re-archive of
 * the day (the first worker to see it claims the attempt), up to `maxAttempts`.
 */
export async function handleQueuedTask(task: ArchiveTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  return task.kind === 'day' ? handleDayTask(task, deps) : handlePageTask(task, deps);
}

async function handleDayTask(task: DayTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  const plan = await planDay(task, deps.client);
  const stale = await removePagesBeyond(deps.sink, task.day, plan.pages);
  const record = {
    runId: task.runId,
    day: task.day,
    attempt: task.attempt,
    total: plan.total,
    pages: plan.pages,
    plannedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  await deps.sink.put(dayPlanKey(task.runId, task.day, task.attempt), Buffer.from(JSON.stringify(record)), 'json');
  await deps.sender.send(plan.pageTasks);
  return { kind: 'day-planned', day: task.day, attempt: task.attempt, total: plan.total, pages: plan.pages, staleRemoved: stale.length };
}

async function handlePageTask(task: PageTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  const outcome = await archivePage(task, deps);
  if (outcome.status === 'written') {
    return { kind: 'page-written', day: task.day, page: task.page, chats: outcome.chats, bytes: outcome.bytes };
  }
  const drift = { kind: 'drift', day: task.day, page: task.page, attempt: task.attempt, reason: outcome.reason } as const;
  if (task.attempt >= deps.maxAttempts) return { ...drift, next: 'gave-up' };
  const nextAttempt = task.attempt + 1;
  const claim = Buffer.from(JSON.stringify({ reason: outcome.reason, page: task.page }));
  if (!(await deps.sink.putIfAbsent(replanClaimKey(task.runId, task.day, nextAttempt), claim, 'json'))) {
    return { ...drift, next: 'already-replanned' };
  }
  await deps.sender.send([dayTask(task.runId, task.day, nextAttempt, task.filters)]);
  return { ...drift, next: 'replanned' };
}
