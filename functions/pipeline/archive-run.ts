import PQueue from 'p-queue';
import { removePagesBeyond } from '#lake/day-partition.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type DayTask, dayTask, decodeTask, encodeTask, type PageTask, type SliceTask } from '#shared/archive-task.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import { InvalidInputError, LivechatAuthError, LivechatRequestError } from '#shared/errors.ts';
import { planDay } from '#sources/v2/day-planner.ts';
import type { LivechatClient } from '#sources/v2/livechat-client.ts';
import { archivePage, type PageOutcome, writePage } from '#sources/v2/page-archiver.ts';
import { archiveSlice, countDay, planSlices, type V36Deps } from '#sources/v36/slice-archiver.ts';
import { LocalTaskQueue } from './local-task-queue.ts';
import { type DayRecord, type RunManifest, summarizeRun, writeRunManifest } from './run-manifest.ts';

export type ArchiveRunEvent =
  | { type: 'day-planned'; day: string; attempt: number; total: number; pages: number }
  | { type: 'page-written'; day: string; page: number; chats: number }
  | { type: 'slice-written'; day: string; slice: string; chats: number; parts: number }
  | { type: 'drift'; day: string; attempt: number; reason: string }
  | { type: 'day-finished'; record: DayRecord }
  | { type: 'task-failed'; day: string; message: string };

export interface ArchiveRunOptions {
  runId: string;
  days: readonly string[];
  filters?: ChatFilters;
  /** The v2 source (`GET /chats`, page tasks). */
  client?: LivechatClient;
  /** The v3.6 source (`list_archives`, slice tasks); used instead of `client` when set. */
  archives?: Omit<V36Deps, 'sink' | 'now'>;
  sink: LakeSink;
  concurrency: number;
  /** Passes over one day before drift makes it count as incomplete. */
  maxAttempts?: number;
  /** Deliveries of one task before it is dead-lettered. */
  maxDeliveries?: number;
  redeliveryDelayMs?: number;
  onEvent?: (event: ArchiveRunEvent) => void;
  /** Aborting stops new tasks; tasks in flight finish and the manifest is written. */
  signal?: AbortSignal;
  /** Retries counted by the client, for the manifest. */
  retries?: () => number;
  now?: () => Date;
}

interface DayState {
  attempt: number;
  total: number;
  pages: number;
  /** Chats written per page (v2) or per slice (v3.6), keyed by page number or slice name. */
  written: Map<number | string, number>;
  /** v2: chat ids written by this pass, so a chat on two pages is caught even if `total` stayed put. */
  ids: Set<string>;
  inFlight: number;
  driftSeen: number;
  replanPending: boolean;
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
  const maxAttempts = options.maxAttempts ?? 5;
  const emit = options.onEvent ?? (() => {});
  const states = new Map<string, DayState>();
  let fatal: unknown;

  // `concurrency` bounds API requests, not tasks: tasks run at twice that, so a page being
  // compressed and written does not hold a request slot (bench/RESULTS.md, section 1).
  const requests = new PQueue({ concurrency: options.concurrency });
  const client: LivechatClient | undefined = options.client && {
    listChats: (query) => requests.add(() => options.client!.listChats(query)),
  };
  const archives: ArchiveRunOptions['archives'] = options.archives && {
    ...options.archives,
    client: { listArchives: (request) => requests.add(() => options.archives!.client.listArchives(request)) },
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
      if (error instanceof LivechatAuthError || error instanceof LivechatRequestError) {
        fatal ??= error;
        queue.stop();
      }
      finishDay(task.day, 'failed', message);
    },
  });

  const onAbort = () => queue.stop();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  for (const day of options.days) {
    states.set(day, newDayState(1));
    queue.send(encodeTask(dayTask(options.runId, day, 1, filters)));
  }
  await queue.drain();
  options.signal?.removeEventListener('abort', onAbort);
  if (fatal) throw fatal;

  const records = options.days.map((day) => {
    const state = states.get(day)!;
    return state.record ?? recordOf(day, state, 'interrupted', 'run stopped before the day finished');
  });
  const manifest = summarizeRun(
    { runId: options.runId, startedAt, finishedAt: now().toISOString(), lake: options.sink.location, filters },
    records,
    options.retries?.() ?? 0,
  );
  await writeRunManifest(options.sink, manifest);
  return manifest;

  async function handle(task: DayTask | PageTask | SliceTask): Promise<void> {
    const state = states.get(task.day)!;
    if (state.record || task.attempt !== state.attempt || state.replanPending) return; // superseded
    state.inFlight += 1;
    try {
      if (task.kind === 'day') await (archives ? handleDayV36(task, state, archives) : handleDay(task, state));
      else if (task.kind === 'slice') await handleSlice(task, state);
      else await handlePage(task, state);
    } finally {
      state.inFlight -= 1;
    }
    if (state.replanPending && state.inFlight === 0 && !state.record) replan(task.day, state);
  }

  function v2Client(): LivechatClient {
    if (!client) throw new Error('runArchive needs `client` (v2) or `archives` (v3.6)');
    return client;
  }

  async function handleDayV36(
    task: DayTask,
    state: DayState,
    archives: NonNullable<ArchiveRunOptions['archives']>,
  ): Promise<void> {
    const plan = await planSlices(task, { ...archives, sink: options.sink, now });
    state.total = plan.found;
    state.pages = plan.sliceTasks.length;
    emit({ type: 'day-planned', day: task.day, attempt: task.attempt, total: plan.found, pages: state.pages });
    for (const sliceTask of plan.sliceTasks) queue.send(encodeTask(sliceTask), 1);
  }

  async function handleSlice(task: SliceTask, state: DayState): Promise<void> {
    const outcome = await archiveSlice(task, { ...archives!, sink: options.sink, now });
    if (outcome.status === 'drift') {
      driftSeen(task, state, outcome.reason);
      return;
    }
    state.written.set(task.slice, outcome.chats);
    emit({ type: 'slice-written', day: task.day, slice: task.slice, chats: outcome.chats, parts: outcome.parts });
    if (state.written.size !== state.pages || state.replanPending) return;
    // Every slice is written: the day must still hold exactly the chats they wrote.
    let written = 0;
    for (const chats of state.written.values()) written += chats;
    const found = await countDay(task, archives!);
    if (found === written) {
      finishDay(task.day, 'complete');
      return;
    }
    driftSeen(task, state, `the day has ${found} chats, its slices wrote ${written}`);
  }

  /** The pass saw drift: nothing more is written for it, and the day is re-planned once its tasks settle. */
  function driftSeen(task: PageTask | SliceTask, state: DayState, reason: string): void {
    state.driftSeen += 1;
    state.replanPending = true;
    emit({ type: 'drift', day: task.day, attempt: task.attempt, reason });
  }

  async function handleDay(task: DayTask, state: DayState): Promise<void> {
    const plan = await planDay(task, v2Client());
    state.total = plan.total;
    state.pages = plan.pages;
    emit({ type: 'day-planned', day: task.day, attempt: task.attempt, total: plan.total, pages: plan.pages });
    const [firstTask, ...laterTasks] = plan.pageTasks;
    if (!firstTask) {
      await completeDay(task.day, state);
      return;
    }
    for (const pageTask of laterTasks) queue.send(encodeTask(pageTask), 1);
    await pageDone(firstTask, state, await writePage(firstTask, plan.firstPage, { sink: options.sink, now }));
  }

  async function handlePage(task: PageTask, state: DayState): Promise<void> {
    await pageDone(task, state, await archivePage(task, { client: v2Client(), sink: options.sink, now }));
  }

  async function pageDone(task: PageTask, state: DayState, outcome: PageOutcome): Promise<void> {
    if (outcome.status === 'drift') {
      driftSeen(task, state, outcome.reason);
      return;
    }
    const repeated = outcome.ids.find((id) => state.ids.has(id));
    if (repeated !== undefined) {
      driftSeen(task, state, `chat ${repeated} is on page ${task.page} and on an earlier-written page`);
      return;
    }
    for (const id of outcome.ids) state.ids.add(id);
    state.written.set(task.page, outcome.chats);
    emit({ type: 'page-written', day: task.day, page: task.page, chats: outcome.chats });
    if (state.written.size === state.pages && !state.replanPending) await completeDay(task.day, state);
  }

  function replan(day: string, state: DayState): void {
    if (state.attempt >= maxAttempts) {
      finishDay(day, 'incomplete', `the day kept changing while it was archived (${state.attempt} attempts)`);
      return;
    }
    const next = newDayState(state.attempt + 1);
    next.driftSeen = state.driftSeen;
    states.set(day, next);
    queue.send(encodeTask(dayTask(options.runId, day, next.attempt, filters)));
  }

  async function completeDay(day: string, state: DayState): Promise<void> {
    await removePagesBeyond(options.sink, day, state.pages);
    finishDay(day, 'complete');
  }

  function finishDay(day: string, status: DayRecord['status'], problem?: string): void {
    const state = states.get(day)!;
    if (state.record) return;
    state.record = recordOf(day, state, status, problem);
    state.ids.clear();
    emit({ type: 'day-finished', record: state.record });
  }
}

function newDayState(attempt: number): DayState {
  return {
    attempt,
    total: 0,
    pages: 0,
    written: new Map(),
    ids: new Set(),
    inFlight: 0,
    driftSeen: 0,
    replanPending: false,
  };
}

function recordOf(day: string, state: DayState, status: DayRecord['status'], problem?: string): DayRecord {
  let chatsWritten = 0;
  for (const chats of state.written.values()) chatsWritten += chats;
  return {
    day,
    status,
    expectedTotal: state.total,
    pages: state.pages,
    chatsWritten,
    attempts: state.attempt,
    driftSeen: state.driftSeen,
    ...(problem ? { problem } : {}),
  };
}

function isFatal(error: unknown): boolean {
  return (
    error instanceof LivechatAuthError || error instanceof LivechatRequestError || error instanceof InvalidInputError
  );
}
