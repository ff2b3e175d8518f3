import type { LakeSink } from '#lake/sinks/lake-sink.ts';
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

export function writePrivacy(erased: ErasedVisitors, rules: Redaction): WritePrivacy {
  return {
    keep(chats) {
      if (erased.size === 0) return { kept: [...chats], dropped: 0 };
      const kept = chats.filter((chat) => !erased.isErased(chat));
      return { kept, dropped: chats.length - kept.length };
    },
    redact: (record) => rules.redact(record),
  };
}

/** One task's writes: the privacy hook, the sink to write through, and `settle` to run after its last write. */
export interface TaskWrites {
  privacy: WritePrivacy;
  sink: LakeSink;
  /** Removes chats of visitors erased while the task ran from the files it wrote (erasure-race-guard.ts). */
  settle(): Promise<number>;
}

/** Per task: an erasure recorded before the task starts applies to its writes, one recorded while it runs to `settle`. */
export async function loadTaskWrites(
  sink: LakeSink,
  config: RedactionConfig | undefined,
  now?: () => Date,
): Promise<TaskWrites> {
  const erased = await ErasedVisitors.load(sink);
  const guard = new ErasureRaceGuard(sink, erased, now);
  return { privacy: writePrivacy(erased, redaction(config)), sink: guard.sink, settle: () => guard.settle() };
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
