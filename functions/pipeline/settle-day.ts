import { type DayPartition, mergeDay, settleDayPartition } from '#lake/day-consolidation.ts';
import { dayPlanKey, type Pass, passSettledKey } from '#lake/lake-layout.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import type { DayTask } from '#shared/archive-task.ts';
import type { FileRef } from '#shared/file-refs.ts';
import type { ArchiveSource, SourceContext } from '#sources/archive-source.ts';
import { fileRefsOfDay } from './archive-files.ts';

export type DaySettled =
  | { status: 'drift'; reason: string }
  | {
      status: 'settled';
      /** Chats the day holds after settling. */
      chats: number;
      /** Distinct chats the pass fetched and wrote. */
      fetched: number;
      /** Chats of earlier passes LiveChat no longer returned (or returned without a transcript): kept. */
      kept: number;
    };

/** A settled day, and the files its chats point to (for the files tasks; not stored with the settle record). */
export type DaySettledWithFiles =
  | Extract<DaySettled, { status: 'drift' }>
  | (Extract<DaySettled, { status: 'settled' }> & { files: FileRef[]; erasures: number });

/**
 * Settles a pass whose units are all written, on both runners: the source checks the pass against
 * the day (drift means another pass, nothing is merged), then the day's partition is merged into
 * one version per chat (functions/lake/day-consolidation.ts: write before delete, erased visitors
 * left out) and the day plan records how many chats were kept that the pass did not return.
 */
export async function settleDay(
  source: ArchiveSource,
  day: DayTask,
  pass: Pass,
  /** `fetched`: the chat ids the pass's units wrote (their done records), however its files were merged since. */
  counts: { total: number; dropped: number; fetched: ReadonlySet<string> },
  context: SourceContext,
): Promise<DaySettledWithFiles> {
  const settledKey = passSettledKey(pass, day.day);
  const done = await context.sink.get(settledKey);
  let erased = ErasedVisitors.none;
  // Loaded after the files were read: an erasure recorded meanwhile still keeps its chats out.
  const merge = () =>
    mergeDay(context.sink, day.day, source.mergedTables, pass, async (partition: DayPartition) => {
      erased = await ErasedVisitors.load(context.sink);
      return settleDayPartition(context.sink, partition, erasedCheck(erased), counts.fetched);
    });
  if (done) {
    // Settled before (a redelivered settle, or a unit task redelivered after it): merge what came since, count nothing again.
    const { partition } = await merge();
    const before = JSON.parse(Buffer.from(done).toString('utf8')) as DaySettled;
    return before.status === 'settled' ? withFiles(before, source, partition, erased) : before;
  }
  const fetched = counts.fetched.size;
  const drift = await source.checkPass(day, { fetched, dropped: counts.dropped, total: counts.total }, context);
  if (drift !== undefined) return { status: 'drift', reason: drift };
  const { partition, settled } = await merge();
  const result: DaySettled = { status: 'settled', chats: settled.chats, fetched, kept: settled.kept };
  const withRefs = withFiles(result, source, partition, erased);
  await recordKept(day, settled.kept, settled.chats, withRefs.files.length, context);
  await context.sink.put(settledKey, Buffer.from(JSON.stringify(result)), 'json');
  return withRefs;
}

/** The check settling runs on each row, none when no visitor was ever erased. */
function erasedCheck(erased: ErasedVisitors): ((record: Record<string, unknown>) => boolean) | undefined {
  return erased.size > 0 ? (record) => erased.isErased(record) : undefined;
}

function withFiles(
  settled: Extract<DaySettled, { status: 'settled' }>,
  source: ArchiveSource,
  partition: DayPartition,
  erased: ErasedVisitors,
): Extract<DaySettledWithFiles, { status: 'settled' }> {
  const files = fileRefsOfDay(source, partition, erasedCheck(erased));
  return { ...settled, files, erasures: erased.size };
}

/** The day plan (table `day_plans`) says how many chats the settled day kept and how many files its chats point to. */
async function recordKept(
  day: DayTask,
  kept: number,
  chats: number,
  files: number,
  context: SourceContext,
): Promise<void> {
  const key = dayPlanKey(day.runId, day.day, day.attempt);
  const body = await context.sink.get(key);
  if (!body) return;
  const plan = JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>;
  const settled = { ...plan, kept, chats, files, settledAt: context.now().toISOString() };
  await context.sink.put(key, Buffer.from(JSON.stringify(settled)), 'json');
}
