import { CHAT_TABLE_PREFIXES, replanClaimKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { ArchiveTask } from '#shared/archive-task.ts';

/** The task belongs to an attempt the day has moved past: it writes and deletes nothing more. */
export class SupersededError extends Error {
  override name = 'SupersededError';
}

const isChatFile = (key: string) => CHAT_TABLE_PREFIXES.some((prefix) => key.startsWith(prefix));

/** Drift on this attempt already claimed the next one (the claim is made before the re-archive is queued). */
export async function newerAttemptClaimed(sink: LakeSink, task: ArchiveTask): Promise<boolean> {
  return (await sink.get(replanClaimKey(task.runId, task.day, task.attempt + 1))) !== undefined;
}

/**
 * The sink a queued task's source writes through. On AWS the tasks of two attempts at one day
 * can run at once (a page fetched before a drift, written after the re-archive's page), and a
 * backfill has no next night to repair it. So before touching a chat file, a task checks that
 * its attempt is still the day's latest; and each chat file is written as a compare-and-swap
 * that never replaces a later attempt's file (the check alone would leave the moment between
 * check and write open). Either way the task stops with SupersededError.
 */
export function attemptGuardedSink(sink: LakeSink, task: ArchiveTask): LakeSink {
  const writer = { runId: task.runId, attempt: task.attempt };
  const superseded = () =>
    new SupersededError(`${task.day} attempt ${task.attempt} of run ${task.runId} was superseded by a newer attempt`);
  const assertCurrent = async () => {
    if (await newerAttemptClaimed(sink, task)) throw superseded();
  };
  return {
    location: sink.location,
    putIfAbsent: (key, body, contentType) => sink.putIfAbsent(key, body, contentType),
    get: (key) => sink.get(key),
    list: (prefix) => sink.list(prefix),
    async put(key, body, contentType) {
      if (!isChatFile(key)) return sink.put(key, body, contentType);
      await assertCurrent();
      if (!sink.putUnlessSuperseded) return sink.put(key, body, contentType);
      if (!(await sink.putUnlessSuperseded(key, body, contentType, writer))) throw superseded();
    },
    async delete(keys) {
      if (keys.some(isChatFile)) await assertCurrent();
      return sink.delete(keys);
    },
  };
}
