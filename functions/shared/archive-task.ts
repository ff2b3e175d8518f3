import { randomBytes } from 'node:crypto';
import { chatFiltersSchema } from './chat-filters.ts';
import { isRealDay } from './day-range.ts';
import { InvalidInputError } from './errors.ts';
import { fileRefSchema } from './file-refs.ts';
import { isTimeZone } from './time-zone.ts';
import * as z from './zod-mini.ts';

/**
 * The messages that drive an archive run, as carried by SQS in AWS and by the
 * in-process queue locally. `v` is bumped on any incompatible change so that a
 * worker rejects messages it does not understand instead of misreading them.
 */
export const TASK_VERSION = 1;

const isoDay = z
  .string()
  .check(z.regex(/^\d{4}-\d{2}-\d{2}$/, 'expected YYYY-MM-DD'), z.refine(isRealDay, 'not a calendar date'));
const positive = () => z.int().check(z.positive());

const taskBase = {
  v: z.literal(TASK_VERSION),
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
  day: isoDay,
  /** 1 for the first pass over the day; +1 each time drift forces a re-archive. */
  attempt: positive(),
  filters: z._default(chatFiltersSchema, {}),
  /**
   * IANA zone the day is cut in: `day` is the local calendar day, for every source. Messages
   * queued before the zone travelled in tasks have none and read as UTC (what v3.6 cut in; a v2
   * page planned in the account's zone then sees a different total, which is drift: the day is
   * re-archived in UTC), so version 1 stays readable.
   */
  timeZone: z._default(z.string().check(z.refine(isTimeZone, 'not an IANA time zone')), 'UTC'),
};

/** Plan one day: learn total/pages from page 1, then fan out one page task per page. */
export const dayTaskSchema = z.strictObject({ kind: z.literal('day'), ...taskBase });

/**
 * The plan a unit belongs to (a random id per planning, lake-layout.ts `Pass`). Units queued before
 * plans had ids read as `0`.
 */
const planId = z._default(z.string().check(z.regex(/^[0-9a-z]{1,16}$/, 'expected a plan id')), '0');

/** Archive one page of one day, as planned. */
export const pageTaskSchema = z
  .strictObject({
    kind: z.literal('page'),
    ...taskBase,
    plan: planId,
    page: positive(),
    pages: positive(),
    total: positive(),
  })
  .check(z.refine((task) => task.page <= task.pages, 'page is beyond pages'));

/**
 * Where a slice's read stands when a task hands the rest of it to the next task: the cursor to
 * follow (`pageId`, valid for weeks), the part number its page gets, the first part of this read
 * of the slice and the slice's `found_chats` on that read's first page (both for the checks at
 * the slice's end), and how often an expired cursor made the slice be read again.
 */
export const sliceCursorSchema = z.strictObject({
  pageId: z.string().check(z.minLength(1), z.maxLength(4096)),
  part: positive(),
  firstPart: positive(),
  found: z.int().check(z.nonnegative()),
  restarts: z.int().check(z.nonnegative()),
});

/**
 * v3.6 source: archive one time slice of one day (`day`, or on busy days the local hour `hNN`
 * counted from local midnight: h00..h22 on a 23-hour DST day, h00..h24 on a 25-hour one) by
 * following list_archives' cursor. `found` is the day's found_chats at planning. A task reads
 * a bounded number of the slice's pages; `cursor`, when set, says where the task before it
 * stopped (absent: the slice's first page).
 */
export const sliceTaskSchema = z.strictObject({
  kind: z.literal('slice'),
  ...taskBase,
  plan: planId,
  slice: z.string().check(z.regex(/^(day|h([01]\d|2[0-4]))$/, "expected 'day' or h00..h24")),
  slices: z.int().check(z.positive(), z.maximum(25)),
  found: z.int().check(z.nonnegative()),
  cursor: z.optional(sliceCursorSchema),
});

/**
 * Every unit of a pass is written (AWS): merge the day's partition into one version per chat and
 * check the pass against the day (functions/pipeline/settle-day.ts). Idempotent: sent by every
 * unit that sees the pass done, and redelivered at will.
 */
export const settleTaskSchema = z.strictObject({
  kind: z.literal('settle'),
  ...taskBase,
  plan: planId,
  units: z.int().check(z.nonnegative()),
  total: z.int().check(z.nonnegative()),
});

/**
 * LiveChat ids as the docs show them (`PJ0MRSHTDG`, `K600PKZON8`): letters and digits only, so an
 * id can never be a path (`../`), a prefix or anything else than one thread's name in a lake key.
 */
export const LIVECHAT_ID = /^[A-Za-z0-9]{1,64}$/;
const livechatId = () => z.string().check(z.regex(LIVECHAT_ID, 'expected a LiveChat id (letters and digits)'));

/**
 * v3.6, from a `chat_deactivated` webhook: read one thread with `get_chat` and write it into its
 * day's partition (the thread's start day in `timeZone`, the lake's zone), under a key of its own
 * that a redelivery overwrites and the day's settling merges (functions/sources/v36/chat-archiver.ts).
 */
export const chatTaskSchema = z.strictObject({
  v: z.literal(TASK_VERSION),
  kind: z.literal('chat'),
  runId: z.string().check(z.minLength(1), z.maxLength(128)),
  chatId: livechatId(),
  threadId: livechatId(),
  timeZone: z.string().check(z.refine(isTimeZone, 'not an IANA time zone')),
  /** When the delivery was accepted (ISO 8601): the end-to-lake delay is measured from the thread's end. */
  receivedAt: z.iso.datetime(),
});

/** Files one files task archives at most: a batch stays far below the task's timeout and SQS's 256 KiB. */
export const MAX_FILES_PER_TASK = 50;

/**
 * Archive a batch of the files a settled day's chats point to (functions/pipeline/archive-files.ts):
 * queued by the day's settling, after the chats are in the lake, so a slow or huge file never puts
 * a page task at risk. Idempotent: a file already stored for the same chat and URL is not fetched again.
 */
export const filesTaskSchema = z.strictObject({
  kind: z.literal('files'),
  ...taskBase,
  plan: planId,
  batch: positive(),
  batches: positive(),
  /** Erasure records the settling knew: a files task that finds more checks its chats are still in the lake. */
  erasures: z._default(z.int().check(z.nonnegative()), 0),
  files: z.array(fileRefSchema).check(z.minLength(1), z.maxLength(MAX_FILES_PER_TASK)),
});

export const archiveTaskSchema = z.discriminatedUnion('kind', [
  dayTaskSchema,
  pageTaskSchema,
  sliceTaskSchema,
  settleTaskSchema,
  filesTaskSchema,
]);

/** Every message the worker's queue carries: the archive run's tasks and webhook chat tasks. */
export const queuedTaskSchema = z.discriminatedUnion('kind', [...archiveTaskSchema.def.options, chatTaskSchema]);

export type DayTask = z.infer<typeof dayTaskSchema>;
export type PageTask = z.infer<typeof pageTaskSchema>;
export type SliceTask = z.infer<typeof sliceTaskSchema>;
export type SliceCursor = z.infer<typeof sliceCursorSchema>;
export type SettleTask = z.infer<typeof settleTaskSchema>;
export type ChatTask = z.infer<typeof chatTaskSchema>;
export type QueuedTask = ArchiveTask | ChatTask;
export type FilesTask = z.infer<typeof filesTaskSchema>;
export type ArchiveTask = z.infer<typeof archiveTaskSchema>;

export function encodeTask(task: QueuedTask): string {
  return JSON.stringify(task);
}

/** Parses an archive run's message body; a bad one becomes a one-line InvalidInputError. */
export function decodeTask(body: string): ArchiveTask {
  return decodeWith(archiveTaskSchema, body) as ArchiveTask;
}

/** Parses a message of the worker's queue (an archive task or a webhook chat task). */
export function decodeQueuedTask(body: string): QueuedTask {
  return decodeWith(queuedTaskSchema, body) as QueuedTask;
}

function decodeWith(schema: typeof archiveTaskSchema | typeof queuedTaskSchema, body: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new InvalidInputError('archive task is not JSON');
  }
  if (value && typeof value === 'object' && 'v' in value && value.v !== TASK_VERSION) {
    throw new InvalidInputError(
      `archive task has message version ${String(value.v)}, this worker reads version ${TASK_VERSION}`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new InvalidInputError(`archive task is invalid: ${where}${issue?.message ?? 'unknown problem'}`);
  }
  return parsed.data;
}

export function dayTask(
  runId: string,
  day: string,
  attempt: number,
  filters: DayTask['filters'],
  timeZone: string,
): DayTask {
  return { v: TASK_VERSION, kind: 'day', runId, day, attempt, filters, timeZone };
}

/** The run id of every webhook task: rows it writes carry `_run_id: "webhook"`. */
export const WEBHOOK_RUN_ID = 'webhook';

export function chatTask(chatId: string, threadId: string, timeZone: string, receivedAt: Date): ChatTask {
  return {
    v: TASK_VERSION,
    kind: 'chat',
    runId: WEBHOOK_RUN_ID,
    chatId,
    threadId,
    timeZone,
    receivedAt: receivedAt.toISOString(),
  };
}

/** A random plan id: one per planning of a day (lake-layout.ts `Pass`). */
export function newPlanId(): string {
  return randomBytes(4).toString('hex');
}
