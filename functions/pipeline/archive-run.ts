import PQueue from 'p-queue';
import { CHAT_TABLE_PREFIXES, FILES_PREFIX, MANIFESTS_PREFIX, partitionPrefix } from '#lake/lake-layout.ts';
import { addMistyped, type Mistyped } from '#lake/mistyped-values.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { RedactionConfig } from '#privacy/redaction.ts';
import { loadTaskWrites, settledAfter } from '#privacy/write-privacy.ts';
import { type DayTask, dayTask, decodeTask, encodeTask, newPlanId } from '#shared/archive-task.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import {
  InvalidInputError,
  LivechatAuthError,
  LivechatRequestError,
  LivechatResponseError,
  LivechatUnreachableError,
} from '#shared/errors.ts';
import { addFileCounts, emptyFileCounts, type FileCounts } from '#shared/file-refs.ts';
import { localDay } from '#shared/time-zone.ts';
import {
  type ArchiveSource,
  type SourceContext,
  type UnitContinued,
  type UnitOutcome,
  type UnitTask,
  type UnitWritten,
  unitLabel,
} from '#sources/archive-source.ts';
import { archiveFiles, type FileArchiving, type FilesArchived, filesTasksOf } from './archive-files.ts';
import { writeDayPlan } from './day-plan.ts';
import { recordDroppedChats } from './dropped-chats.ts';
import { checkLakeClaims } from './lake-claims.ts';
import { LocalTaskQueue } from './local-task-queue.ts';
import { type DayRecord, isDayDone, type RunManifest, summarizeRun, writeRunManifest } from './run-manifest.ts';
import { settleDay } from './settle-day.ts';

export type ArchiveRunEvent =
  | { type: 'day-planned'; day: string; attempt: number; total: number; pages: number }
  | { type: 'unit-written'; written: UnitWritten }
  /** Part of a unit written, the rest queued as the unit's next task (a v3.6 slice's next cursor pages). */
  | { type: 'unit-progress'; progress: UnitContinued }
  | { type: 'drift'; day: string; attempt: number; reason: string }
  | { type: 'day-finished'; record: DayRecord }
  | { type: 'files-archived'; result: FilesArchived }
  | { type: 'task-failed'; day: string; message: string };

export interface ArchiveRunOptions {
  runId: string;
  days: readonly string[];
  filters?: ChatFilters;
  /** IANA zone every day is cut in (default UTC); a lake cut in another zone is refused. */
  timeZone?: string;
  /** The LiveChat API to archive from (v2 pages or v3.6 slices). */
  source: ArchiveSource;
  sink: LakeSink;
  /** What is never stored (fields dropped, kinds masked in free text); unset keeps everything. */
  redaction?: RedactionConfig;
  concurrency: number;
  /** Passes over one day before drift makes it count as incomplete. */
  maxAttempts?: number;
  /** Archive the files chats point to: each settled day queues files tasks (archive-files.ts); unset: off. */
  files?: FileArchiving;
  /** Deliveries of one task before it is dead-lettered. */
  maxDeliveries?: number;
  redeliveryDelayMs?: number;
  onEvent?: (event: ArchiveRunEvent) => void;
  /** Aborting stops new tasks; tasks in flight finish and the manifest is written. */
  signal?: AbortSignal;
  /** Days an interrupted run completed, skipped by this one (recorded in the manifest). */
  resumed?: { runId: string; days: string[] };
  /** Retries counted by the client, for the manifest. */
  retries?: () => number;
  now?: () => Date;
}

interface DayState {
  attempt: number;
  /** The current pass's plan id (set when the day task plans). */
  plan: string;
  total: number;
  pages: number;
  /** Chats written per unit (v2 page, v3.6 slice), keyed by its label. */
  written: Map<string, number>;
  /** Chats of erased visitors fetched and not written, per unit. */
  dropped: Map<string, number>;
  /** Chat ids written by this pass's pages, so a chat on two pages is caught even if `total` stayed put. */
  ids: Set<string>;
  /** Chats the settled day kept that the pass did not return. */
  kept: number;
  inFlight: number;
  driftSeen: number;
  /** Units written in every pass over the day (what the progress line counts as pages). */
  unitsWritten: number;
  /** Passes started again because of drift. */
  reArchives: number;
  replanPending: boolean;
  /** Chat fields without a column, seen in any pass over the day (names only). */
  unknownFields: Set<string>;
  /** Values set aside in `_mistyped` (they do not fit their column's type), in any pass over the day. */
  mistyped?: Mistyped;
  /** Why the current plan cannot archive the whole day, if it cannot. */
  incomplete?: string;
  /**
   * The day settled and queued files tasks: its status once they have all finished (the in-process
   * queue is not durable, so a day whose files tasks a stopped run dropped is not done: the next
   * run archives it again, and its files tasks skip what is stored).
   */
  settled?: { status: DayRecord['status']; problem?: string; filesTasks: number; filesDone: Set<number> };
  record?: DayRecord;
}

/**
 * Archives a range of days locally: day tasks plan, page tasks write, all through
 * an in-process queue with the same message contract as SQS. A day with drift is
 * re-archived once its current pass has settled (no write from an old pass can land
 * after a newer pass began), at most `maxAttempts` times. Resolves to the run
 * manifest, also written to the lake; rejects at once on an authentication error.
 */
export async function runArchive(options: ArchiveRunOptions): Promise<RunManifest> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const filters = options.filters ?? {};
  const timeZone = options.timeZone ?? 'UTC';
  const maxAttempts = options.maxAttempts ?? 5;
  const emit = options.onEvent ?? (() => {});
  const states = new Map<string, DayState>();
  /** Files by status per day, from its files tasks (they run after the day settled; the last one finishes the day). */
  const fileCounts = new Map<string, FileCounts>();
  let fatal: unknown;

  // `concurrency` bounds API requests, not tasks: tasks run at twice that, so a page being
  // compressed and written does not hold a request slot (bench/RESULTS.md, section 1).
  const requests = new PQueue({ concurrency: options.concurrency });
  const { source } = options;
  const baseContext = {
    sink: options.sink,
    now,
    // The lake's zone and filters are recorded once LiveChat has answered (nothing before that).
    request: async <T>(call: () => Promise<T>) => {
      const response = await requests.add(call);
      await claims.record();
      return response;
    },
  };
  /** Per task: an erasure recorded before a task starts applies to its writes, one recorded while it runs to `settle`. */
  const contextForTask = async (day: string): Promise<{ context: SourceContext; settle: () => Promise<number> }> => {
    const writes = await loadTaskWrites(options.sink, options.redaction, now, {
      day,
      refsOf: source.attachments.refsOf,
    });
    return { context: { ...baseContext, sink: writes.sink, privacy: writes.privacy }, settle: writes.settle };
  };

  const queue = new LocalTaskQueue({
    concurrency: options.concurrency * 2,
    maxDeliveries: options.maxDeliveries ?? 3,
    redeliveryDelayMs: options.redeliveryDelayMs,
    handle: (body) => handle(decodeTask(body)),
    isRetryable: (error) => !isFatal(error),
    onDeadLetter: (body, error) => {
      const task = decodeTask(body);
      const message = error instanceof Error ? error.message : String(error);
      emit({ type: 'task-failed', day: task.day, message });
      if (isRunStopping(error)) {
        fatal ??= error;
        queue.stop();
      }
      finishDay(task.day, 'failed', message);
    },
  });

  const claims = await checkLakeClaims(options.sink, filters, timeZone, options.runId);
  // What a killed run left in these days' partitions and in the manifests (day plans, settle
  // markers, locks): `*.partial` files of dead processes.
  await options.sink.removeLeftovers?.([
    ...options.days.flatMap((day) => CHAT_TABLE_PREFIXES.map((table) => partitionPrefix(day, table))),
    MANIFESTS_PREFIX,
    ...(options.files ? options.days.map((day) => partitionPrefix(day, FILES_PREFIX)) : []),
  ]);
  const onAbort = () => queue.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  for (const day of options.days) {
    states.set(day, newDayState(1));
    queue.send(encodeTask(dayTask(options.runId, day, 1, filters, timeZone)));
  }
  await queue.drain();
  options.signal?.removeEventListener('abort', onAbort);
  if (fatal) throw fatal;

  const records = options.days.map((day) => {
    const state = states.get(day)!;
    const record =
      state.record ??
      recordOf(
        day,
        state,
        'interrupted',
        state.settled
          ? "run stopped before the day's files were archived (the next run archives the day again)"
          : 'run stopped before the day finished',
      );
    const files = fileCounts.get(day);
    return files ? { ...record, files } : record;
  });
  const manifest = summarizeRun(
    {
      runId: options.runId,
      startedAt,
      finishedAt: now().toISOString(),
      lake: options.sink.location,
      timeZone,
      filters,
      ...(options.signal?.aborted ? { interrupted: true } : {}),
      ...(options.resumed ? { resumed: options.resumed } : {}),
    },
    records,
    options.retries?.() ?? 0,
  );
  if (claims.recorded) await writeRunManifest(options.sink, manifest);
  return manifest;

  async function handle(task: ReturnType<typeof decodeTask>): Promise<void> {
    if (task.kind === 'settle') throw new Error('a local run settles its days in process');
    if (task.kind === 'files') {
      if (!options.files) return;
      const result = await archiveFiles(task, { sink: options.sink, now, files: options.files, source });
      addFileCounts(
        fileCounts.get(task.day) ?? fileCounts.set(task.day, emptyFileCounts()).get(task.day)!,
        result.counts,
      );
      emit({ type: 'files-archived', result });
      filesTaskDone(task.day, task.batch);
      return;
    }
    const state = states.get(task.day)!;
    if (state.record || state.settled || task.attempt !== state.attempt || state.replanPending) return; // superseded
    state.inFlight += 1;
    try {
      const { context, settle } = await contextForTask(task.day);
      if (task.kind === 'day') await settledAfter(() => handleDay(task, state, context), settle);
      // unitDone is inside too: the unit that completes a pass settles the day, which writes merged files.
      else await settledAfter(async () => unitDone(task, state, await source.runTask(task, context), context), settle);
    } finally {
      state.inFlight -= 1;
    }
    if (state.replanPending && state.inFlight === 0 && !state.record) replan(task.day, state);
  }

  async function handleDay(task: DayTask, state: DayState, context: SourceContext): Promise<void> {
    state.plan = newPlanId();
    const plan = await source.planDay(task, state.plan, context);
    await writeDayPlan(task, plan, source.name, context, state.plan);
    state.total = plan.total;
    state.pages = plan.units;
    if (task.attempt > 1) state.reArchives += 1;
    state.incomplete = plan.incomplete;
    emit({ type: 'day-planned', day: task.day, attempt: task.attempt, total: plan.total, pages: plan.units });
    for (const unitTask of plan.tasks) queue.send(encodeTask(unitTask), 1);
    if (plan.first) await unitDone(plan.first.task, state, plan.first.outcome, context);
    else if (plan.units === 0) await settle(task, state, context);
  }

  async function unitDone(
    task: UnitTask,
    state: DayState,
    outcome: UnitOutcome,
    context: SourceContext,
  ): Promise<void> {
    if (outcome.status === 'drift') {
      driftSeen(task, state, outcome.reason);
      return;
    }
    if (outcome.status === 'continued') {
      state.mistyped = addMistyped(state.mistyped, outcome.progress.mistyped);
      queue.send(encodeTask(outcome.next), 1);
      emit({ type: 'unit-progress', progress: outcome.progress });
      return;
    }
    // Offset pages: a chat on two pages means the day shifted (time slices may share a thread: settling merges it).
    // A unit already written (its task is redelivered after a later step failed) is not a second page.
    const again = state.written.has(unitLabel(task));
    const repeated = task.kind === 'page' && !again ? outcome.ids.find((id) => state.ids.has(id)) : undefined;
    if (repeated !== undefined) {
      driftSeen(task, state, `chat ${repeated} is on ${unitLabel(task)} and on an earlier-written ${task.kind}`);
      return;
    }
    for (const id of outcome.ids) state.ids.add(id);
    for (const field of outcome.written.unknownFields ?? []) state.unknownFields.add(field);
    state.mistyped = addMistyped(state.mistyped, outcome.written.mistyped);
    await recordDroppedChats(task, outcome.written, context);
    state.written.set(unitLabel(task), outcome.written.chats);
    state.dropped.set(unitLabel(task), outcome.written.dropped);
    state.unitsWritten += 1;
    emit({ type: 'unit-written', written: outcome.written });
    if (state.written.size === state.pages && !state.replanPending) await settle(task, state, context);
  }

  /** Every unit of the pass is written: the source confirms the day is whole (else drift), and the day is merged. */
  async function settle(task: DayTask | UnitTask, state: DayState, context: SourceContext): Promise<void> {
    const day = dayTask(options.runId, task.day, task.attempt, filters, timeZone);
    const pass = { runId: options.runId, attempt: task.attempt, plan: state.plan };
    const counts = { total: state.total, dropped: sum(state.dropped), fetched: state.ids };
    const settled = await settleDay(source, day, pass, counts, context);
    if (settled.status === 'drift') driftSeen(task, state, settled.reason);
    // Every planned unit is written, yet the plan could not cover the whole day: never complete.
    else {
      state.kept = settled.kept;
      // The lake holds more than LiveChat returned (kept chats): done, but never `complete` by the API's count.
      const status = state.incomplete ? 'incomplete' : settled.kept > 0 ? 'kept' : 'complete';
      if (!options.files || settled.files.length === 0) {
        finishDay(task.day, status, state.incomplete);
        return;
      }
      // The day is finished by its last files task (filesTaskDone), or stays `interrupted` if the run stops first.
      const tasks = filesTasksOf(day, state.plan, settled.files, settled.erasures, options.files.filesPerTask);
      state.settled = {
        status,
        ...(state.incomplete ? { problem: state.incomplete } : {}),
        filesTasks: tasks.length,
        filesDone: new Set(),
      };
      state.ids.clear();
      fileCounts.set(task.day, emptyFileCounts());
      for (const filesTask of tasks) queue.send(encodeTask(filesTask));
    }
  }

  function filesTaskDone(day: string, batch: number): void {
    const settled = states.get(day)?.settled;
    if (!settled) return;
    settled.filesDone.add(batch);
    if (settled.filesDone.size === settled.filesTasks) finishDay(day, settled.status, settled.problem);
  }

  /** The pass saw drift: nothing more is written for it, and the day is re-planned once its tasks settle. */
  function driftSeen(task: DayTask | UnitTask, state: DayState, reason: string): void {
    state.driftSeen += 1;
    state.replanPending = true;
    emit({ type: 'drift', day: task.day, attempt: task.attempt, reason });
  }

  function replan(day: string, state: DayState): void {
    if (state.attempt >= maxAttempts) {
      finishDay(day, 'incomplete', `the day kept changing while it was archived (${state.attempt} attempts)`);
      return;
    }
    const next = newDayState(state.attempt + 1);
    next.driftSeen = state.driftSeen;
    next.unitsWritten = state.unitsWritten;
    next.reArchives = state.reArchives;
    next.unknownFields = state.unknownFields;
    if (state.mistyped) next.mistyped = state.mistyped;
    states.set(day, next);
    queue.send(encodeTask(dayTask(options.runId, day, next.attempt, filters, timeZone)));
  }

  function finishDay(day: string, status: DayRecord['status'], problem?: string): void {
    const state = states.get(day)!;
    if (state.record) return;
    if (isDayDone(status) && day >= localDay(now(), timeZone)) {
      status = 'in-progress';
      problem = `the day has not ended in ${timeZone}: archived as far as it has gone, run again after it ends`;
    }
    state.record = recordOf(day, state, status, problem);
    state.ids.clear();
    emit({ type: 'day-finished', record: state.record });
  }
}

function newDayState(attempt: number): DayState {
  return {
    attempt,
    plan: '',
    total: 0,
    pages: 0,
    written: new Map(),
    dropped: new Map(),
    ids: new Set(),
    kept: 0,
    inFlight: 0,
    driftSeen: 0,
    unitsWritten: 0,
    reArchives: 0,
    replanPending: false,
    unknownFields: new Set(),
  };
}

function sum(counts: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}

function recordOf(day: string, state: DayState, status: DayRecord['status'], problem?: string): DayRecord {
  return {
    day,
    status,
    expectedTotal: state.total,
    pages: state.pages,
    pagesWritten: state.unitsWritten,
    chatsWritten: sum(state.written),
    chatsDropped: sum(state.dropped),
    chatsKept: state.kept,
    attempts: state.attempt,
    driftSeen: state.driftSeen,
    reArchives: state.reArchives,
    ...(problem ? { problem } : {}),
    ...(state.unknownFields.size > 0 ? { unknownFields: [...state.unknownFields].sort() } : {}),
    ...(state.mistyped ? { mistyped: state.mistyped } : {}),
  };
}

/** Errors that another delivery would meet again: the task fails at once. */
function isFatal(error: unknown): boolean {
  return isRunStopping(error) || error instanceof LivechatResponseError || error instanceof InvalidInputError;
}

/** Errors every other task would meet too (credentials, the request, no connection): the run stops. */
function isRunStopping(error: unknown): boolean {
  return (
    error instanceof LivechatAuthError ||
    error instanceof LivechatRequestError ||
    error instanceof LivechatUnreachableError
  );
}
