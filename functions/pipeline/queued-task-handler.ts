import { removePagesBeyond } from '#lake/day-partition.ts';
import { dayPlanKey, replanClaimKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type ArchiveTask, type DayTask, dayTask, type PageTask, type SliceTask } from '#shared/archive-task.ts';
import { planDay } from '#sources/v2/day-planner.ts';
import type { LivechatClient } from '#sources/v2/livechat-client.ts';
import { archivePage, writePage } from '#sources/v2/page-archiver.ts';
import { archiveSlice, planSlices, type V36Deps } from '#sources/v36/slice-archiver.ts';
import type { QueuedTaskResult } from './queued-task-result.ts';

export interface TaskSender {
  send(tasks: readonly ArchiveTask[]): Promise<unknown>;
}

export interface QueuedTaskDeps {
  /** The v2 source (`GET /chats`). */
  client?: LivechatClient;
  /** The v3.6 source (`list_archives`, slice tasks); used instead of `client` when set. */
  archives?: Omit<V36Deps, 'sink' | 'now'>;
  sink: LakeSink;
  sender: TaskSender;
  /** Passes over one day before drift makes it count as incomplete. */
  maxAttempts: number;
  now?: () => Date;
}

/**
 * One queued task, as the worker Lambda runs it. A day task plans the day, writes
 * page 1 from the planning request and queues the other pages; a page task archives
 * its page. Drift queues one re-archive of
 * the day (the first worker to see it claims the attempt), up to `maxAttempts`.
 */
export async function handleQueuedTask(task: ArchiveTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  if (task.kind === 'slice') return handleSliceTask(task, deps);
  return task.kind === 'day' ? handleDayTask(task, deps) : handlePageTask(task, deps);
}

function v2Client(deps: QueuedTaskDeps): LivechatClient {
  if (!deps.client) throw new Error('this worker has no v2 client for a v2 task');
  return deps.client;
}

async function handleDayTask(task: DayTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  if (deps.archives) return handleDayTaskV36(task, { ...deps.archives, sink: deps.sink, now: deps.now }, deps);
  const plan = await planDay(task, v2Client(deps));
  const stale = await removePagesBeyond(deps.sink, task.day, plan.pages);
  await writeDayPlan(task, { total: plan.total, pages: plan.pages }, deps);
  const [firstTask, ...laterTasks] = plan.pageTasks;
  let firstPage: { chats: number; bytes: number } | undefined;
  if (firstTask) {
    const outcome = await writePage(firstTask, plan.firstPage, deps);
    if (outcome.status === 'drift') {
      const drift = { kind: 'drift', day: task.day, page: 1, attempt: task.attempt, reason: outcome.reason } as const;
      return replanAfterDrift(firstTask, drift, deps);
    }
    firstPage = { chats: outcome.chats, bytes: outcome.bytes };
  }
  await deps.sender.send(laterTasks);
  return {
    kind: 'day-planned',
    day: task.day,
    attempt: task.attempt,
    total: plan.total,
    pages: plan.pages,
    staleRemoved: stale.length,
    ...(firstPage ? { firstPage } : {}),
  };
}

async function handlePageTask(task: PageTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  const outcome = await archivePage(task, { client: v2Client(deps), sink: deps.sink, now: deps.now });
  if (outcome.status === 'written') {
    return { kind: 'page-written', day: task.day, page: task.page, chats: outcome.chats, bytes: outcome.bytes };
  }
  return replanAfterDrift(
    task,
    { kind: 'drift', day: task.day, page: task.page, attempt: task.attempt, reason: outcome.reason },
    deps,
  );
}

async function handleDayTaskV36(task: DayTask, v36: V36Deps, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  const plan = await planSlices(task, v36);
  await writeDayPlan(
    task,
    { source: 'v3.6', found: plan.found, slices: plan.sliceTasks.map((slice) => slice.slice) },
    deps,
  );
  await deps.sender.send(plan.sliceTasks);
  return {
    kind: 'day-planned',
    day: task.day,
    attempt: task.attempt,
    total: plan.found,
    pages: plan.sliceTasks.length,
    staleRemoved: plan.staleRemoved.length,
  };
}

async function handleSliceTask(task: SliceTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  if (!deps.archives) throw new Error('this worker has no v3.6 client for a v3.6 slice task');
  const outcome = await archiveSlice(task, { ...deps.archives, sink: deps.sink, now: deps.now });
  if (outcome.status === 'written') {
    return {
      kind: 'slice-written',
      day: task.day,
      slice: task.slice,
      chats: outcome.chats,
      parts: outcome.parts,
      bytes: outcome.bytes,
      cursorRestarts: outcome.restarts,
    };
  }
  const drift = {
    kind: 'drift',
    day: task.day,
    page: 0,
    slice: task.slice,
    attempt: task.attempt,
    reason: outcome.reason,
  } as const;
  return replanAfterDrift(task, drift, deps);
}

/** What a day task planned, beside the lake: AWS runs have no single process that sees the whole run. */
async function writeDayPlan(task: DayTask, plan: Record<string, unknown>, deps: QueuedTaskDeps): Promise<void> {
  const record = {
    runId: task.runId,
    day: task.day,
    attempt: task.attempt,
    ...plan,
    plannedAt: (deps.now?.() ?? new Date()).toISOString(),
  };
  await deps.sink.put(dayPlanKey(task.runId, task.day, task.attempt), Buffer.from(JSON.stringify(record)), 'json');
}

/** Drift queues one re-archive of the day: the first worker to see it claims the next attempt. */
async function replanAfterDrift(
  task: PageTask | SliceTask,
  drift: Omit<Extract<QueuedTaskResult, { kind: 'drift' }>, 'next'>,
  deps: QueuedTaskDeps,
): Promise<QueuedTaskResult> {
  if (task.attempt >= deps.maxAttempts) return { ...drift, next: 'gave-up' };
  const nextAttempt = task.attempt + 1;
  const claim = Buffer.from(
    JSON.stringify({ reason: drift.reason, ...(drift.slice ? { slice: drift.slice } : { page: drift.page }) }),
  );
  if (!(await deps.sink.putIfAbsent(replanClaimKey(task.runId, task.day, nextAttempt), claim, 'json'))) {
    return { ...drift, next: 'already-replanned' };
  }
  await deps.sender.send([dayTask(task.runId, task.day, nextAttempt, task.filters)]);
  return { ...drift, next: 'replanned' };
}
