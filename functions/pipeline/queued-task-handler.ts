import { replanClaimKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { RedactionConfig } from '#privacy/redaction.ts';
import { loadTaskWrites, settledAfter } from '#privacy/write-privacy.ts';
import { type ArchiveTask, type DayTask, dayTask } from '#shared/archive-task.ts';
import {
  type ArchiveSource,
  type SourceContext,
  type UnitOutcome,
  type UnitTask,
  type UnitWritten,
  unitOf,
} from '#sources/archive-source.ts';
import { attemptGuardedSink, newerAttemptClaimed, SupersededError } from './attempt-guard.ts';
import { writeDayPlan } from './day-plan.ts';
import { recordDroppedChats } from './dropped-chats.ts';
import { checkLakeClaims } from './lake-claims.ts';
import type { DayPlanned, QueuedTaskResult } from './queued-task-result.ts';

export interface TaskSender {
  send(tasks: readonly ArchiveTask[]): Promise<unknown>;
}

export interface QueuedTaskDeps {
  /** The LiveChat API to archive from (v2 pages or v3.6 slices). */
  source: ArchiveSource;
  sink: LakeSink;
  sender: TaskSender;
  /** What is never stored (fields dropped, kinds masked in free text); unset keeps everything. */
  redaction?: RedactionConfig;
  /** Passes over one day before drift makes it count as incomplete. */
  maxAttempts: number;
  now?: () => Date;
}

/**
 * One queued task, as the worker Lambda runs it. A day task plans the day (a unit the
 * planning request fetched, v2 page 1, is written then) and queues the other units; a unit
 * task archives its page or slice. Drift queues one re-archive of the day (the first worker
 * to see it claims the attempt), up to `maxAttempts`.
 */
export async function handleQueuedTask(task: ArchiveTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  // Loaded per task: an erasure recorded before the task starts applies to its writes, one recorded while it runs to settle.
  const writes = await loadTaskWrites(deps.sink, deps.redaction, deps.now);
  const sink = attemptGuardedSink(writes.sink, task);
  const context: SourceContext = { sink, now: deps.now ?? (() => new Date()), privacy: writes.privacy };
  return settledAfter(() => handleTask(task, deps, context), writes.settle);
}

async function handleTask(task: ArchiveTask, deps: QueuedTaskDeps, context: SourceContext): Promise<QueuedTaskResult> {
  try {
    // A day task of an attempt already superseded (a late redelivery) would plan and delete for nothing.
    if (task.kind === 'day') {
      return (await newerAttemptClaimed(deps.sink, task))
        ? supersededResult(task)
        : await handleDayTask(task, deps, context);
    }
    const outcome = await deps.source.runTask(task, context);
    if (outcome.status === 'drift') return await replanAfterDrift(task, outcome, deps);
    await recordDroppedChats(task, outcome.written, context);
    return outcome.written;
  } catch (error) {
    if (error instanceof SupersededError) return supersededResult(task);
    throw error;
  }
}

function supersededResult(task: ArchiveTask): QueuedTaskResult {
  return {
    kind: 'superseded',
    day: task.day,
    attempt: task.attempt,
    ...(task.kind === 'day' ? {} : unitOf(task)),
  };
}

async function handleDayTask(task: DayTask, deps: QueuedTaskDeps, context: SourceContext): Promise<QueuedTaskResult> {
  // Checked first; recorded once LiveChat has answered, so a task that never reaches it writes nothing.
  const claims = await checkLakeClaims(deps.sink, task.filters, task.timeZone, task.runId);
  const request = context.request ?? (<T>(call: () => Promise<T>) => call());
  const plan = await deps.source.planDay(task, {
    ...context,
    request: async <T>(call: () => Promise<T>) => {
      const response = await request(call);
      await claims.record();
      return response;
    },
  });
  await writeDayPlan(task, plan, deps.source.name, context);
  const first = plan.first;
  if (first?.outcome.status === 'drift') return replanAfterDrift(first.task, first.outcome, deps);
  if (first) await recordDroppedChats(first.task, first.outcome.written, context);
  await deps.sender.send(plan.tasks);
  return {
    kind: 'day-planned',
    day: task.day,
    attempt: task.attempt,
    total: plan.total,
    pages: plan.units,
    staleRemoved: plan.staleRemoved,
    ...(first?.outcome.status === 'written' ? firstPageOf(first.outcome.written) : {}),
    ...(plan.incomplete ? { incomplete: plan.incomplete } : {}),
  };
}

function firstPageOf(written: UnitWritten): Pick<DayPlanned, 'firstPage' | 'unknownFields'> {
  const { chats, dropped, bytes, unknownFields } = written;
  return { firstPage: { chats, dropped, bytes }, ...(unknownFields ? { unknownFields } : {}) };
}

/** Drift queues one re-archive of the day: the first worker to see it claims the next attempt. */
async function replanAfterDrift(
  task: UnitTask,
  outcome: Extract<UnitOutcome, { status: 'drift' }>,
  deps: QueuedTaskDeps,
): Promise<QueuedTaskResult> {
  const unit = unitOf(task);
  const drift = {
    kind: 'drift',
    day: task.day,
    page: 'page' in unit ? unit.page : 0,
    ...('slice' in unit ? { slice: unit.slice } : {}),
    attempt: task.attempt,
    reason: outcome.reason,
  } as const;
  if (task.attempt >= deps.maxAttempts) return { ...drift, next: 'gave-up' };
  const nextAttempt = task.attempt + 1;
  const claim = Buffer.from(JSON.stringify({ reason: outcome.reason, ...unit }));
  if (!(await deps.sink.putIfAbsent(replanClaimKey(task.runId, task.day, nextAttempt), claim, 'json'))) {
    return { ...drift, next: 'already-replanned' };
  }
  await deps.sender.send([dayTask(task.runId, task.day, nextAttempt, task.filters, task.timeZone)]);
  return { ...drift, next: 'replanned' };
}
