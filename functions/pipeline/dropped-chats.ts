import type { DroppedChatsRow } from '#lake/dropped-chats-table.ts';
import { droppedAtWriteKey } from '#lake/lake-layout.ts';
import { type SourceContext, type UnitTask, type UnitWritten, unitLabel } from '#sources/archive-source.ts';

/**
 * A unit that dropped chats of erased visitors says how many, beside the lake (table
 * `dropped_chats`), so `day_completeness` counts them as accounted for, not missing. Local and
 * queued runs alike; a redelivered unit overwrites its own file. Nothing is written when none dropped.
 */
export async function recordDroppedChats(task: UnitTask, written: UnitWritten, context: SourceContext): Promise<void> {
  if (written.dropped === 0) return;
  const unit = unitLabel(task).replace(/\s+/g, '-');
  const row: DroppedChatsRow = {
    runId: task.runId,
    day: task.day,
    attempt: task.attempt,
    unit,
    chats: written.dropped,
    recordedAt: context.now().toISOString(),
  };
  await context.sink.put(
    droppedAtWriteKey(task.runId, task.day, task.attempt, unit),
    Buffer.from(JSON.stringify(row)),
    'json',
  );
}
