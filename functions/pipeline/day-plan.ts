import { dayPlanKey } from '#lake/lake-layout.ts';
import type { DayTask } from '#shared/archive-task.ts';
import type { PlannedDay, SourceContext } from '#sources/archive-source.ts';
import { filtersColumn } from './lake-filters.ts';

/**
 * What a day task planned, written beside the lake by local and queued runs alike: on AWS no
 * process sees the whole run, so the named query `day_completeness` compares these plans (table
 * `day_plans`) with the chats in the lake. One line of JSON, keys as in lake/day-plan-table.ts.
 */
export async function writeDayPlan(
  task: DayTask,
  plan: PlannedDay,
  source: string,
  context: SourceContext,
  planId: string,
): Promise<void> {
  const record = {
    runId: task.runId,
    plan: planId,
    day: task.day,
    timeZone: task.timeZone,
    filters: filtersColumn(task.filters),
    attempt: task.attempt,
    source,
    total: plan.total,
    units: plan.units,
    ...plan.record,
    plannedAt: context.now().toISOString(),
  };
  await context.sink.put(dayPlanKey(task.runId, task.day, task.attempt), Buffer.from(JSON.stringify(record)), 'json');
}
