import { randomBytes } from 'node:crypto';
import { beforeProjectionStart, DEFAULT_PROJECTION_START } from '#lake/athena-projection.ts';
import { type DayTask, dayTask } from '#shared/archive-task.ts';
import { type ChatFilters, chatFiltersSchema } from '#shared/chat-filters.ts';
import { addDays, daysInRange } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { localDay, timeZoneOrThrow } from '#shared/time-zone.ts';
import * as z from '#shared/zod-mini.ts';

export interface ScheduleSettings {
  /** The archive's zone: which days are settled, and where every day task cuts its day. */
  timeZone: string;
  /** Hours after local midnight before a day counts as ended (late chats settle). */
  settleHours: number;
  /** Earlier days re-archived every night, to catch chats that ended late. */
  lookbackDays: number;
}

/** A scheduled run (EventBridge Scheduler passes its scheduled time) or a backfill by hand. */
export const runRequestSchema = z.union([
  z.strictObject({ scheduledTime: z.iso.datetime({ offset: true }) }),
  z.strictObject({
    from: z.string(),
    to: z.optional(z.string()),
    filters: z.optional(chatFiltersSchema),
    runId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,100}$/))),
  }),
]);
export type RunRequest = z.infer<typeof runRequestSchema>;

export interface RunPlan {
  runId: string;
  days: string[];
  dayTasks: DayTask[];
}

/**
 * Turns a run request into one day task per day. A scheduled run archives the last
 * settled local day plus `lookbackDays` before it; its run id derives from the
 * scheduled time, so a retried invocation plans the same run.
 */
export function planRun(
  request: RunRequest,
  settings: ScheduleSettings & {
    defaultFilters: ChatFilters;
    maxRangeDays: number;
    fallbackRunId: string;
    /** First day the Athena table projects; earlier days are refused (default 2020-01-01). */
    projectionStart?: string;
  },
): RunPlan {
  let runId: string;
  let days: string[];
  let filters = settings.defaultFilters;
  const timeZone = timeZoneOrThrow(settings.timeZone, 'timeZone');
  if ('scheduledTime' in request) {
    const scheduled = new Date(request.scheduledTime);
    const lastDay = addDays(localDay(new Date(scheduled.getTime() - settings.settleHours * 3_600_000), timeZone), -1);
    days = daysInRange(addDays(lastDay, -settings.lookbackDays), lastDay);
    runId = runIdAt('scheduled', scheduled);
  } else {
    days = daysInRange(request.from, request.to ?? request.from, settings.maxRangeDays);
    runId = request.runId ?? settings.fallbackRunId;
    filters = request.filters ?? filters;
  }
  const hidden = days[0] && beforeProjectionStart(days[0], settings.projectionStart ?? DEFAULT_PROJECTION_START);
  if (hidden) throw new InvalidInputError(`${hidden}; nothing was queued`);
  return { runId, days, dayTasks: days.map((day) => dayTask(runId, day, 1, filters, timeZone)) };
}

export function parseRunRequest(event: unknown): RunRequest {
  const parsed = runRequestSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(
      'planner input must be {"scheduledTime": ISO-8601} or {"from": "YYYY-MM-DD", "to"?: "YYYY-MM-DD", "filters"?: {...}}',
    );
  }
  return parsed.data;
}

/** A run id from a time, e.g. `scheduled-20261125T023000Z`: sortable and safe in S3 keys. */
export function runIdAt(kind: string, time: Date): string {
  return `${kind}-${time
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * The id of a run nothing else names, e.g. `local-20261206T023251.123Z-3f9a0c`: its start to the
 * millisecond, then a random suffix. A run's manifest, day plans and dropped-chat records are keyed
 * by it, so two runs started in the same second (two terminals, a quick rerun) must not share it.
 * Sorts by start time, also among the second-only ids of earlier versions (`local-20261206T023251Z`).
 */
export function uniqueRunId(kind: string, time: Date, suffix = randomBytes(3).toString('hex')): string {
  return `${kind}-${time.toISOString().replace(/[-:]/g, '')}-${suffix}`;
}
