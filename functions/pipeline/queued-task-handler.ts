import { type Pass, passDonePrefix, replanClaimKey, unitDoneKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { RedactionConfig } from '#privacy/redaction.ts';
import { loadTaskWrites, settledAfter } from '#privacy/write-privacy.ts';
import { type DayTask, dayTask, newPlanId, type QueuedTask, type SettleTask } from '#shared/archive-task.ts';
import { InvalidInputError } from '#shared/errors.ts';
import {
  type ArchiveSource,
  type SourceContext,
  type UnitTask,
  type UnitWritten,
  unitLabel,
  unitOf,
} from '#sources/archive-source.ts';
import { archiveFiles, type FileArchiving, filesTasksOf } from './archive-files.ts';
import { writeDayPlan } from './day-plan.ts';
import { recordDroppedChats } from './dropped-chats.ts';
import { checkLakeClaims } from './lake-claims.ts';
import type { DayPlanned, QueuedTaskResult } from './queued-task-result.ts';
import { settleDay } from './settle-day.ts';

export interface TaskSender {
  send(tasks: readonly QueuedTask[]): Promise<unknown>;
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
  /** Archive the files chats point to (a files task per batch, queued by each settled day); unset: off. */
  files?: FileArchiving;
  now?: () => Date;
  /** Epoch ms after which a task starts no further API request and hands the rest on (the worker's Lambda timeout less a request's budget). */
  deadline?: number;
}

/**
 * One queued task, as the worker Lambda runs it. A day task plans the day (a unit the planning
 * request fetched, v2 page 1, is written then) and queues the other units; a unit task archives
 * its page or slice under keys of its pass and records that it is done; the unit that sees every
 * unit of its pass done queues the day's settle task, which checks the pass against the day and
 * merges the partition (settle-day.ts). Drift queues one re-archive of the day, up to `maxAttempts`.
 * Every step is idempotent: a redelivered task rewrites only its own keys and sends again.
 */
export async function handleQueuedTask(task: QueuedTask, deps: QueuedTaskDeps): Promise<QueuedTaskResult> {
  // Loaded per task: an erasure recorded before the task starts applies to its writes, one recorded while it runs to settle.
  // With attachments on, a day's tasks also remove the stored files of chats they drop as erased
  // visitors' (the role may touch files/ only then; a webhook's chat task has no day yet).
  const files = deps.files && 'day' in task ? { day: task.day, refsOf: deps.source.attachments.refsOf } : undefined;
  const writes = await loadTaskWrites(deps.sink, deps.redaction, deps.now, files);
  const context: SourceContext = {
    sink: writes.sink,
    now: deps.now ?? (() => new Date()),
    privacy: writes.privacy,
    ...(deps.deadline !== undefined ? { deadline: deps.deadline } : {}),
  };
  return settledAfter(() => handleTask(task, deps, context), writes.settle);
}

async function handleTask(task: QueuedTask, deps: QueuedTaskDeps, context: SourceContext): Promise<QueuedTaskResult> {
  if (task.kind === 'day') return handleDayTask(task, deps, context);
  if (task.kind === 'settle') return handleSettleTask(task, deps, context);
  if (task.kind === 'chat') {
    if (!deps.source.runChatTask) {
      throw new InvalidInputError(
        `webhook chat tasks need the v3.6 source (get_chat); this worker reads ${deps.source.name}`,
      );
    }
    return deps.source.runChatTask(task, context);
  }
  if (task.kind === 'files') {
    // Queued while attachments were on, delivered after they were turned off: nothing is fetched.
    if (!deps.files) return { kind: 'files-skipped', day: task.day, files: task.files.length };
    return archiveFiles(task, { sink: context.sink, now: context.now, files: deps.files, source: deps.source });
  }
  const outcome = await deps.source.runTask(task, context);
  if (outcome.status === 'drift') return replanAfterDrift(task, outcome.reason, deps);
  if (outcome.status === 'continued') {
    // Written before it is sent: a redelivery reads the same cursor page again and rewrites the same parts.
    await deps.sender.send([outcome.next]);
    return outcome.progress;
  }
  await unitWritten(task, outcome.written, outcome.ids, deps, context);
  return outcome.written;
}

async function handleDayTask(task: DayTask, deps: QueuedTaskDeps, context: SourceContext): Promise<QueuedTaskResult> {
  // Checked first; recorded once LiveChat has answered, so a task that never reaches it writes nothing.
  const claims = await checkLakeClaims(deps.sink, task.filters, task.timeZone, task.runId);
  const request = context.request ?? (<T>(call: () => Promise<T>) => call());
  const planId = newPlanId();
  const plan = await deps.source.planDay(task, planId, {
    ...context,
    request: async <T>(call: () => Promise<T>) => {
      const response = await request(call);
      await claims.record();
      return response;
    },
  });
  await writeDayPlan(task, plan, deps.source.name, context, planId);
  const first = plan.first;
  if (first?.outcome.status === 'drift') return replanAfterDrift(first.task, first.outcome.reason, deps);
  await deps.sender.send(first?.outcome.status === 'continued' ? [...plan.tasks, first.outcome.next] : plan.tasks);
  if (first?.outcome.status === 'written') {
    await unitWritten(first.task, first.outcome.written, first.outcome.ids, deps, context);
  } else if (plan.units === 0) {
    await deps.sender.send([settleTaskOf(task, planId, { units: 0, total: plan.total })]);
  }
  return {
    kind: 'day-planned',
    day: task.day,
    attempt: task.attempt,
    total: plan.total,
    pages: plan.units,
    ...(first?.outcome.status === 'written' ? firstPageOf(first.outcome.written) : {}),
    ...(plan.incomplete ? { incomplete: plan.incomplete } : {}),
  };
}

/** Records the unit as done (with its counts); the unit that finds every unit of its pass done queues the settling. */
async function unitWritten(
  task: UnitTask,
  written: UnitWritten,
  ids: readonly string[],
  deps: QueuedTaskDeps,
  context: SourceContext,
): Promise<void> {
  await recordDroppedChats(task, written, context);
  const unit = unitLabel(task).replace(/\s+/g, '-');
  // The unit's chat ids (no visitor identifier): the settling counts the pass's distinct chats from these.
  const done = { unit, chats: written.chats, dropped: written.dropped, ids };
  await deps.sink.put(unitDoneKey(task, task.day, unit), Buffer.from(JSON.stringify(done)), 'json');
  const units = task.kind === 'page' ? task.pages : task.slices;
  const total = task.kind === 'page' ? task.total : task.found;
  if ((await deps.sink.list(passDonePrefix(task, task.day))).length >= units) {
    await deps.sender.send([settleTaskOf(task, task.plan, { units, total })]);
  }
}

function settleTaskOf(task: DayTask | UnitTask, plan: string, counts: { units: number; total: number }): SettleTask {
  const { v, runId, day, attempt, filters, timeZone } = task;
  return { v, kind: 'settle', runId, day, attempt, filters, timeZone, plan, ...counts };
}

async function handleSettleTask(
  task: SettleTask,
  deps: QueuedTaskDeps,
  context: SourceContext,
): Promise<QueuedTaskResult> {
  let dropped = 0;
  const fetched = new Set<string>();
  for (const key of await deps.sink.list(passDonePrefix(task, task.day))) {
    const body = await deps.sink.get(key);
    if (!body) continue;
    const done = JSON.parse(Buffer.from(body).toString('utf8')) as { dropped?: number; ids?: string[] };
    dropped += Number(done.dropped ?? 0);
    for (const id of done.ids ?? []) fetched.add(id);
  }
  const day = dayTask(task.runId, task.day, task.attempt, task.filters, task.timeZone);
  const settled = await settleDay(deps.source, day, task, { total: task.total, dropped, fetched }, context);
  if (settled.status === 'drift') return replanAfterDrift(task, settled.reason, deps);
  // Sent again by a redelivered settle: files tasks skip what is stored.
  if (deps.files && settled.files.length > 0) {
    await deps.sender.send(filesTasksOf(task, task.plan, settled.files, settled.erasures, deps.files.filesPerTask));
  }
  return {
    kind: 'day-settled',
    day: task.day,
    attempt: task.attempt,
    chats: settled.chats,
    fetched: settled.fetched,
    kept: settled.kept,
    ...(deps.files ? { files: settled.files.length } : {}),
  };
}

function firstPageOf(written: UnitWritten): Pick<DayPlanned, 'firstPage' | 'unknownFields' | 'mistyped'> {
  const { chats, dropped, bytes, unknownFields, mistyped } = written;
  return {
    firstPage: { chats, dropped, bytes },
    ...(unknownFields ? { unknownFields } : {}),
    ...(mistyped ? { mistyped } : {}),
  };
}

/**
 * Drift queues one re-archive of the day: the first unit of the pass to see it claims the next
 * attempt, naming itself in the claim, so its redelivery sends the re-archive again if the send
 * failed; the claim is per plan, so a re-run with the same run id re-archives as well.
 */
async function replanAfterDrift(
  task: UnitTask | SettleTask,
  reason: string,
  deps: QueuedTaskDeps,
): Promise<QueuedTaskResult> {
  const unit = task.kind === 'settle' ? ({ page: 0 } as const) : unitOf(task);
  const drift = {
    kind: 'drift',
    day: task.day,
    page: 'page' in unit ? unit.page : 0,
    ...('slice' in unit ? { slice: unit.slice } : {}),
    attempt: task.attempt,
    reason,
    next: 'replanned',
  } as const;
  if (task.attempt >= deps.maxAttempts) return { ...drift, next: 'gave-up' };
  const claimant = task.kind === 'settle' ? 'settle' : unitLabel(task);
  const key = replanClaimKey(task as Pass, task.day);
  const claim = Buffer.from(JSON.stringify({ reason, claimant }));
  if (!(await deps.sink.putIfAbsent(key, claim, 'json'))) {
    const existing = await deps.sink.get(key);
    const owner = existing && (JSON.parse(Buffer.from(existing).toString('utf8')) as { claimant?: string }).claimant;
    if (owner !== claimant) return { ...drift, next: 'already-replanned' };
  }
  await deps.sender.send([dayTask(task.runId, task.day, task.attempt + 1, task.filters, task.timeZone)]);
  return drift;
}
