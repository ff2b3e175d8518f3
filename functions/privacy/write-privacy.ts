import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type ChatFilesOfDay, removeFilesOfDroppedChats } from './dropped-chat-files.ts';
import { ErasedVisitors } from './erased-visitors.ts';
import { ErasureRaceGuard } from './erasure-race-guard.ts';
import { type Redaction, type RedactionConfig, redaction } from './redaction.ts';

/**
 * What every chat write applies, for both sources and both runners (local run, worker): chats of
 * erased visitors are dropped (so a lookback or a backfill cannot bring them back), and what is
 * stored is redacted. Sources receive it in their `SourceContext`; the runners load it per task,
 * so an erasure recorded before a task starts applies to that task's writes.
 */
export interface WritePrivacy {
  /** The fetched chats (API objects, before any mapping) to store, and how many were dropped. */
  keep<T extends object>(chats: readonly T[]): { kept: T[]; dropped: number };
  /** The record as stored (redacted copy, or the record itself when no rule applies). */
  redact<T extends object>(record: T): T;
}

export const KEEP_EVERYTHING: WritePrivacy = {
  keep: (chats) => ({ kept: [...chats], dropped: 0 }),
  redact: (record) => record,
};

export async function loadWritePrivacy(sink: LakeSink, config?: RedactionConfig): Promise<WritePrivacy> {
  return writePrivacy(await ErasedVisitors.load(sink), redaction(config));
}

export function writePrivacy(
  erased: ErasedVisitors,
  rules: Redaction,
  /** Told the chats each `keep` dropped. */
  onDropped?: (chats: readonly object[]) => void,
): WritePrivacy {
  return {
    keep(chats) {
      if (erased.size === 0) return { kept: [...chats], dropped: 0 };
      const kept = chats.filter((chat) => !erased.isErased(chat));
      if (onDropped && kept.length < chats.length) onDropped(chats.filter((chat) => erased.isErased(chat)));
      return { kept, dropped: chats.length - kept.length };
    },
    redact: (record) => rules.redact(record),
  };
}

/** One task's writes: the privacy hook, the sink to write through, and `settle` to run after its last write. */
export interface TaskWrites {
  privacy: WritePrivacy;
  sink: LakeSink;
  /**
   * Removes chats of visitors erased while the task ran from the files it wrote (erasure-race-guard.ts),
   * then the files and `chat_files` rows the lake still holds of the chats it dropped (dropped-chat-files.ts).
   */
  settle(): Promise<number>;
}

/**
 * Per task: an erasure recorded before the task starts applies to its writes, one recorded while it
 * runs to `settle`. With `files` (tasks of one day), `settle` also deletes the stored files of the
 * chats the task dropped as erased visitors' in that day.
 */
export async function loadTaskWrites(
  sink: LakeSink,
  config: RedactionConfig | undefined,
  now?: () => Date,
  files?: ChatFilesOfDay,
): Promise<TaskWrites> {
  const erased = await ErasedVisitors.load(sink);
  const guard = new ErasureRaceGuard(sink, erased, now);
  const dropped: object[] = [];
  const privacy = writePrivacy(erased, redaction(config), files ? (chats) => dropped.push(...chats) : undefined);
  return {
    privacy,
    sink: guard.sink,
    async settle() {
      const removed = await guard.settle();
      if (files && dropped.length > 0) await removeFilesOfDroppedChats(sink, files, dropped.splice(0));
      return removed;
    },
  };
}

/** Runs a task's work, then `settle`, also when the work failed (its first writes may have landed). */
export async function settledAfter<T>(work: () => Promise<T>, settle: () => Promise<unknown>): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await settle().catch(() => undefined);
    throw error;
  }
  await settle();
  return result;
}
