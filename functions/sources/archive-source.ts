import type { MergedTable } from '#lake/day-consolidation.ts';
import type { Mistyped } from '#lake/mistyped-values.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { WritePrivacy } from '#privacy/write-privacy.ts';
import type { ArchiveTask, ChatTask, DayTask, FilesTask, SettleTask } from '#shared/archive-task.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import type { FileRef } from '#shared/file-refs.ts';

/**
 * The seam between the run mechanics (`functions/pipeline/`) and a LiveChat API. The local
 * run, the queued-task handler and the planner hold an `ArchiveSource` and never ask which
 * one: v2 pages (`sources/v2/v2-source.ts`) and v3.6 time slices (`sources/v36/v36-source.ts`)
 * implement it once each, and a third source would be one more folder.
 *
 * A day task plans the day into *units* (v2: pages, v3.6: time slices); each unit is a queued
 * task that fetches and writes its part of the day, or reports drift (the day changed while it
 * was read) so the pipeline archives the day again. A unit may take several tasks (a v3.6 slice
 * of many cursor pages): a task then writes what it read and the pipeline queues the `next` one.
 */
export interface SourceInfo {
  /** `v2` or `v3.6`, as in `--source` and the `source` config key. */
  readonly name: string;
  /** Lake prefixes the source writes chat files under (besides `manifests/`), e.g. `chats/`. */
  readonly prefixes: readonly string[];
  /** Prefixes under `manifests/` only this source writes records to (the worker may put there). */
  readonly recordPrefixes: readonly string[];
  /** Glue / DuckDB tables that read those files. */
  readonly tables: readonly string[];
  /**
   * How settling a day merges each prefix's files into one row per chat; the first table decides
   * which version of a chat wins (functions/lake/day-consolidation.ts).
   */
  readonly mergedTables: readonly MergedTable[];
  /** Where a settled day's attachments are read from: the table prefix, and the files one stored row points to. */
  readonly attachments: { readonly prefix: string; refsOf(row: Record<string, unknown>): FileRef[] };
  /** Refuses filters the API cannot apply, so a run fails at planning, not task by task. */
  checkFilters(filters: ChatFilters): void;
}

export interface ArchiveSource extends SourceInfo {
  /**
   * Learns how many chats the day has and plans its units; deletes nothing (a count decides how
   * many tasks to queue, never what to remove). A unit the planning request already fetched
   * (v2 page 1) is written here. `plan` is the pass's plan id: every unit task carries it.
   */
  planDay(task: DayTask, plan: string, context: SourceContext): Promise<PlannedDay>;
  /** Fetches and writes one planned unit, unless the day changed since it was planned. */
  runTask(task: UnitTask, context: SourceContext): Promise<UnitOutcome>;
  /**
   * Once every unit of a pass is written: the day must still be what the pass wrote. `fetched` is
   * the distinct chats the pass read (those of erased visitors too), `dropped` those it did not write,
   * `total` what the plan counted. Returns the drift reason, or undefined when the pass is whole.
   */
  checkPass(day: DayTask, pass: PassCounts, context: SourceContext): Promise<string | undefined>;
  /**
   * Sources that can read one chat by id (v3.6 `get_chat`, for `chat_deactivated` webhooks): reads
   * the task's thread and writes it into its day's partition under a key a redelivery overwrites.
   */
  runChatTask?(task: ChatTask, context: SourceContext): Promise<ChatWritten>;
}

/** What a webhook's chat task did. */
export interface ChatWritten {
  kind: 'chat-written';
  day: string;
  /** 1 when the thread was written, 0 when it was not (an erased visitor's, or a restricted_access stub). */
  chats: number;
  dropped: number;
  bytes: number;
  /** Seconds from the thread's last event (its end) to its row in the lake. */
  endToLakeSeconds?: number;
  /** The day was settled already: its partition was merged again so the thread is in it once. */
  merged: boolean;
  /** Values of the `chats` row that do not fit their column's type, kept in `_mistyped`. */
  mistyped?: Mistyped;
}

export interface PassCounts {
  fetched: number;
  dropped: number;
  total: number;
}

export interface SourceContext {
  sink: LakeSink;
  now: () => Date;
  /**
   * Every chat write goes through it: erased visitors' chats are dropped, the rest redacted. Both
   * runners (local run, queued-task handler) always set it, loaded per task; absent (a source
   * called directly, in tests and benchmarks) nothing is dropped or redacted.
   */
  privacy?: WritePrivacy;
  /** Every API request of the source goes through here (the local run bounds requests in flight with it). */
  request?: <T>(call: () => Promise<T>) => Promise<T>;
  /**
   * Epoch ms (on `now`'s clock) after which a task starts no further API request of its own and
   * hands the rest of its unit to a next task (the worker: its Lambda timeout less a request's
   * budget); unset, only the source's fixed bound per task applies.
   */
  deadline?: number;
}

/** A task a day plan queues: a v2 page or a v3.6 slice. */
export type UnitTask = Exclude<ArchiveTask, DayTask | SettleTask | FilesTask>;

/** What a written unit reports (the worker's result, metrics and log line). */
export type UnitWritten =
  | {
      kind: 'page-written';
      day: string;
      page: number;
      chats: number;
      dropped: number;
      bytes: number;
      /** Chat fields the table has no column for (names only); the chats were written verbatim. */
      unknownFields?: string[];
      mistyped?: Mistyped;
    }
  | {
      kind: 'slice-written';
      day: string;
      slice: string;
      chats: number;
      /** Chats of erased visitors fetched and not written. */
      dropped: number;
      parts: number;
      bytes: number;
      cursorRestarts: number;
      /** What this task itself read and wrote, when tasks before it wrote part of the slice. */
      step?: UnitStep;
      unknownFields?: string[];
      /** What this task set aside (earlier tasks of the slice reported theirs). */
      mistyped?: Mistyped;
    };

/** Counts of what one task of a unit read by several tasks wrote itself. */
export interface UnitStep {
  parts: number;
  chats: number;
  dropped: number;
  bytes: number;
  cursorRestarts: number;
  mistyped?: Mistyped;
}

/** A task wrote part of its unit and hands the rest to `next` (v3.6: a slice's next cursor page). */
export interface UnitContinued extends UnitStep {
  kind: 'slice-continued';
  day: string;
  slice: string;
  /** The part number the next task's first page gets. */
  nextPart: number;
}

export type UnitOutcome =
  | { status: 'written'; written: UnitWritten; ids: readonly string[] }
  | { status: 'continued'; progress: UnitContinued; next: UnitTask }
  | { status: 'drift'; reason: string };

export interface PlannedDay {
  /** Chats the day holds (v2 `total`, v3.6 `found_chats`). */
  total: number;
  /** Units of the day (pages or slices). */
  units: number;
  /** Units to queue. */
  tasks: UnitTask[];
  /** The unit the planning request fetched and `planDay` wrote (or found drifted), if any. */
  first?: { task: UnitTask; outcome: UnitOutcome };
  /** What the day plan records beside the lake (AWS runs), besides run, day and attempt. */
  record: Record<string, unknown>;
  /** Set when this plan cannot archive the whole day (v2: above the 25 000-record cap): why. */
  incomplete?: string;
}

/** Where a unit sits in its day, for drift results and re-archive claims. */
export function unitOf(task: UnitTask): { page: number } | { slice: string } {
  return task.kind === 'slice' ? { slice: task.slice } : { page: task.page };
}

/** A unit's name in messages, e.g. `page 3` or `slice h07`; unique within its day. */
export function unitLabel(task: UnitTask): string {
  return task.kind === 'slice' ? `slice ${task.slice}` : `page ${task.page}`;
}
