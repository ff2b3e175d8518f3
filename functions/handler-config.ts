import { z } from 'zod';
import { chatFiltersSchema } from './core/chat-filters.ts';
import { isTimeZone } from './core/day-range.ts';
import { DEFAULT_API_URL } from './core/livechat-client.ts';

const jsonFilters = z
  .string()
  .default('{}')
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'FILTERS is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(chatFiltersSchema);

const timeZone = z.string().refine(isTimeZone, 'unknown time zone');

const plannerEnv = z.object({
  QUEUE_URL: z.url(),
  TIME_ZONE: timeZone.default('UTC'),
  LOOKBACK_DAYS: z.coerce.number().int().min(0).max(60).default(3),
  SETTLE_HOURS: z.coerce.number().min(0).max(48).default(2),
  MAX_RANGE_DAYS: z.coerce.number().int().positive().default(1200),
  FILTERS: jsonFilters,
  SOURCE: z.enum(['v2', 'v3.6']).default('v2'),
});

const workerEnv = z.object({
  BUCKET_NAME: z.string().min(3),
  QUEUE_URL: z.url(),
  SECRET_ID: z.string().min(1),
  API_URL: z.url().default(DEFAULT_API_URL),
  MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(20_000),
  /** Whole budget of one API call, retries included: less than the function timeout, so a stuck page fails its record instead of the batch timing out. */
  REQUEST_BUDGET_MS: z.coerce.number().int().min(1000).max(900_000).default(45_000),
  /** Which LiveChat API the worker reads: REST API v2 `GET /chats` or Agent Chat Web API v3.6 `list_archives`. */
  SOURCE: z.enum(['v2', 'v3.6']).default('v2'),
  /** v3.6 only: `X-Region` header (data centre of the token, e.g. fra); unset = API default. */
  REGION: z.string().regex(/^[a-z]{2,10}$/).optional(),
  /** v3.6 only: found_chats above which a day is archived as 24 hour slices. */
  BUSY_DAY_THRESHOLD: z.coerce.number().int().min(1).max(1_000_000).default(2_000),
});

export type PlannerConfig = z.infer<typeof plannerEnv>;
export type WorkerConfig = z.infer<typeof workerEnv>;

/** Validated once at cold start; a bad deployment fails with the variable's name. */
export function loadPlannerConfig(env: NodeJS.ProcessEnv = process.env): PlannerConfig {
  return parseEnv(plannerEnv, env);
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return parseEnv(workerEnv, env);
}

function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid function configuration: ${problems}`);
  }
  return parsed.data;
}

/** The Secrets Manager secret's JSON: `{"login": "...", "apiKey": "..."}`. */
export const livechatSecretSchema = z.object({ login: z.string().min(1), apiKey: z.string().min(1) });

/** With SOURCE v3.6: a Personal Access Token `{"accountId": "...", "token": "..."}` or `{"bearerToken": "..."}`. */
export const livechatV36SecretSchema = z.union([
  z.object({ accountId: z.string().min(1), token: z.string().min(1) }),
  z.object({ bearerToken: z.string().min(1) }),
]);
