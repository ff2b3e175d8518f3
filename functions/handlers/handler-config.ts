import { DEFAULT_PROJECTION_START } from '#lake/athena-projection.ts';
import type { FileArchiving } from '#pipeline/archive-files.ts';
import { redactionSchema } from '#privacy/redaction.ts';
import { chatFiltersSchema } from '#shared/chat-filters.ts';
import { isRealDay } from '#shared/day-range.ts';
import { isTimeZone } from '#shared/time-zone.ts';
import * as z from '#shared/zod-mini.ts';
import {
  DEFAULT_MAX_ATTACHMENT_MB,
  LIVECHAT_FILE_HOSTS,
  safeFileFetcher,
} from '#sources/attachments/safe-file-fetcher.ts';
import { DEFAULT_API_URL } from '#sources/v2/livechat-client.ts';

const text = () => z.string().check(z.minLength(1));

/** A whole number from the environment, within bounds, with a default when unset. */
const envInt = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.multipleOf(1), z.minimum(min), z.maximum(max)), fallback);

/** A JSON-valued variable: `name` in the error when it is not JSON, then checked by `schema`. */
const parsedJson = <T extends z.ZodMiniType>(name: string, schema: T) =>
  z.pipe(
    z.transform((json: string, context) => {
      try {
        return JSON.parse(json) as unknown;
      } catch {
        context.issues.push({ code: 'custom', message: `${name} is not JSON`, input: json });
        return z.NEVER;
      }
    }),
    schema,
  );

const jsonFilters = z.pipe(z._default(z.string(), '{}'), parsedJson('FILTERS', chatFiltersSchema));

/** What is never stored (cdk.json `redact`, as JSON); unset keeps everything. */
const jsonRedaction = z.optional(z.pipe(z.string(), parsedJson('REDACT', redactionSchema)));

const timeZone = z._default(z.string().check(z.refine(isTimeZone, 'unknown time zone')), 'UTC');
const source = z._default(z.enum(['v2', 'v3.6']), 'v2');

const plannerEnv = z.object({
  QUEUE_URL: z.url(),
  /** The LiveChat secret: the planner checks it is filled in before queueing anything. */
  SECRET_ID: text(),
  TIME_ZONE: timeZone,
  LOOKBACK_DAYS: envInt(0, 60, 3),
  SETTLE_HOURS: z._default(z.coerce.number().check(z.minimum(0), z.maximum(48)), 2),
  MAX_RANGE_DAYS: envInt(1, 36_600, 1200),
  FILTERS: jsonFilters,
  SOURCE: source,
  /** For the doctor's checks before each run: the API, the data centre, v3.6 slicing and the lake bucket (listed only). */
  API_URL: z._default(z.url(), DEFAULT_API_URL),
  REGION: z.optional(z.string().check(z.regex(/^[a-z]{2,10}$/))),
  BUSY_DAY_THRESHOLD: envInt(1, 1_000_000, 2_000),
  BUCKET_NAME: z.optional(z.string().check(z.minLength(3))),
  /** With webhooks (cdk.json `webhooks`): the receiver's function URL, its secret and the app that owns the webhook, for the doctor's `webhooks` check. */
  WEBHOOK_URL: z.optional(z.url()),
  WEBHOOK_SECRET_ID: z.optional(text()),
  WEBHOOK_OWNER_CLIENT_ID: z.optional(text()),
  /** First day the Athena table projects (cdk.json projectionStart): the planner refuses earlier days. */
  PROJECTION_START: z._default(
    z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/), z.refine(isRealDay, 'not a calendar date')),
    DEFAULT_PROJECTION_START,
  ),
});

const workerEnv = z.object({
  BUCKET_NAME: z.string().check(z.minLength(3)),
  QUEUE_URL: z.url(),
  SECRET_ID: text(),
  API_URL: z._default(z.url(), DEFAULT_API_URL),
  MAX_ATTEMPTS: envInt(1, 20, 5),
  REQUEST_TIMEOUT_MS: envInt(1000, 300_000, 20_000),
  /** Whole budget of one API call, retries included: less than the function timeout, so a stuck page fails its record instead of the batch timing out. */
  REQUEST_BUDGET_MS: envInt(1000, 900_000, 45_000),
  /** Which LiveChat API the worker reads: REST API v2 `GET /chats` or Agent Chat Web API v3.6 `list_archives`. */
  SOURCE: source,
  /** `X-Region` header (data centre of the account, e.g. fra), both sources; unset = API default. */
  REGION: z.optional(z.string().check(z.regex(/^[a-z]{2,10}$/))),
  /** v3.6 only: found_chats above which a day is archived as 24 hour slices. */
  BUSY_DAY_THRESHOLD: envInt(1, 1_000_000, 2_000),
  /** v3.6 only: cursor pages one task reads at most before it queues the rest of its slice. */
  SLICE_PAGES_PER_TASK: envInt(1, 100, 5),
  REDACT: jsonRedaction,
  /** Attachments (cdk.json `attachments`, `attachmentHosts`, `maxAttachmentMb`): on unless `off`. */
  ATTACHMENTS: z._default(z.enum(['on', 'off']), 'on'),
  ATTACHMENT_HOSTS: z._default(z.string().check(z.minLength(1)), LIVECHAT_FILE_HOSTS.join(',')),
  MAX_ATTACHMENT_MB: z._default(z.coerce.number().check(z.positive(), z.maximum(5000)), DEFAULT_MAX_ATTACHMENT_MB),
});

/** The webhook receiver (functions/handlers/webhook-receiver.ts): where to queue, its secret, the lake's zone. */
const receiverEnv = z.object({
  QUEUE_URL: z.url(),
  WEBHOOK_SECRET_ID: text(),
  TIME_ZONE: timeZone,
});

export type ReceiverConfig = z.infer<typeof receiverEnv>;

const compactorEnv = z.object({
  BUCKET_NAME: z.string().check(z.minLength(3)),
  /** The Glue database of the lake's tables and views (the UNLOAD statements name it). */
  DATABASE: text(),
  TIME_ZONE: timeZone,
  LOOKBACK_DAYS: envInt(0, 60, 3),
  SETTLE_HOURS: z._default(z.coerce.number().check(z.minimum(0), z.maximum(48)), 2),
  /** Most days one night compacts. */
  MAX_DAYS: envInt(1, 3660, 60),
  SOURCE: source,
  /** Small days: one file per month and table (`true`), else one per day. */
  MONTH_FILES: z._default(z.enum(['true', 'false']), 'false'),
  /** The lake's retentionDays; absent when it keeps chats forever. */
  RETENTION_DAYS: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(36500))),
  /** Attachments on: chat_files rows are compacted with their day (`true`). */
  CHAT_FILES: z._default(z.enum(['true', 'false']), 'false'),
});

export type PlannerConfig = z.infer<typeof plannerEnv>;
export type CompactorConfig = z.infer<typeof compactorEnv>;

export function loadCompactorConfig(env: NodeJS.ProcessEnv = process.env): CompactorConfig {
  return parseEnv(compactorEnv, env);
}
export type WorkerConfig = z.infer<typeof workerEnv>;

/** Validated once at cold start; a bad deployment fails with the variable's name. */
export function loadPlannerConfig(env: NodeJS.ProcessEnv = process.env): PlannerConfig {
  return parseEnv(plannerEnv, env);
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(workerEnv, env);
}

export function loadReceiverConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  return parseEnv(receiverEnv, env);
}

function parseEnv<T extends z.ZodMiniType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid function configuration: ${problems}`);
  }
  return parsed.data;
}

/**
 * The worker's attachment fetching, or undefined when `attachments` is off. A files task holds
 * 5 files fetched 2 at a time, each within a third of the request budget (so the task ends
 * before the function's timeout), and a batch's records run side by side: at most
 * batchSize × 2 files are in memory at once, each at most maxAttachmentMb.
 */
export function fileArchivingOf(config: WorkerConfig): FileArchiving | undefined {
  if (config.ATTACHMENTS === 'off') return undefined;
  const fetcher = safeFileFetcher({
    hosts: config.ATTACHMENT_HOSTS.split(',').map((host) => host.trim()),
    maxBytes: Math.floor(config.MAX_ATTACHMENT_MB * 1_048_576),
    totalTimeoutMs: Math.floor(config.REQUEST_BUDGET_MS / 3),
    timeoutMs: config.REQUEST_TIMEOUT_MS,
  });
  return { fetcher, filesPerTask: 5, concurrency: 2 };
}
