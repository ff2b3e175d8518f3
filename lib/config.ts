import type { Node } from 'constructs';
import * as z from 'zod';
import { DEFAULT_PROJECTION_START } from '#lake/athena-projection.ts';
import { FIELD_PATH } from '#privacy/redaction.ts';
import { MASK_KINDS } from '#privacy/text-masks.ts';
import { chatFiltersSchema } from '#shared/chat-filters.ts';
import { isRealDay } from '#shared/day-range.ts';
import { isTimeZone } from '#shared/time-zone.ts';
import { DEFAULT_MAX_ATTACHMENT_MB, LIVECHAT_FILE_HOSTS } from '#sources/attachments/safe-file-fetcher.ts';
import { skippedScheduleTime } from './schedule-dst.ts';
import { sizingFor, v2VolumeProblem } from './sizing.ts';

export const CONTEXT_KEY = 'livechatArchiver';

/** 04:30: outside 00:00-03:59, where DST changes happen in most zones (a skipped night is a lost one). */
export const DEFAULT_SCHEDULE_CRON = 'cron(30 4 * * ? *)';

/** The account's volume the defaults below are sized for unless cdk.json says otherwise. */
const DEFAULT_CHATS_PER_DAY = 2_000;
const SIZED = sizingFor(DEFAULT_CHATS_PER_DAY);

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const fromCommandLine = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;

const number = <T extends z.ZodNumber>(schema: T) => z.preprocess(fromCommandLine, schema);
const int = (min: number, max: number) => number(z.number().int().min(min).max(max));

const fromJson = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

const bool = z.preprocess(fromJson, z.boolean());

export const configSchema = z
  .object({
    expectedChatsPerDay: int(1, 10_000_000)
      .default(DEFAULT_CHATS_PER_DAY)
      .describe(
        'Chats a day the account has, about: sets the defaults that depend on volume (busyDayThreshold, slicePagesPerTask, workerTimeoutSeconds, workerMemoryMb, bytesScannedCutoffBytes) and whether compaction writes one Parquet file per month (at most 1 000) or per day; source v2 is refused above 25 000.',
      ),
    scheduleCron: z
      .string()
      .regex(
        /^cron\(\S+( \S+){5}\)$/,
        'must be an EventBridge Scheduler cron expression with six fields, e.g. cron(30 2 * * ? *)',
      )
      .default(DEFAULT_SCHEDULE_CRON)
      .describe(
        'When the planner runs, in timeZone; a time that a DST change of timeZone skips (e.g. 02:30 in Europe/Warsaw) is refused.',
      ),
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Warsaw')
      .default('UTC')
      .describe('Time zone of the schedule and of the archive days: dt is the day a chat started there.'),
    lookbackDays: int(0, 60)
      .default(3)
      .describe('Settled days before the last one that every nightly run archives again.'),
    settleHours: number(z.number().min(0).max(48))
      .default(2)
      .describe('Hours after local midnight before a day counts as ended.'),
    maxRangeDays: int(1, 36600).default(1200).describe('Most days one manual backfill may ask for.'),
    filters: z
      .preprocess(fromJson, chatFiltersSchema)
      .default({})
      .describe('LiveChat GET /chats filters applied to every run.'),
    workerConcurrency: number(
      z.number().int().min(2, 'must be at least 2, the smallest maximum concurrency of an SQS event source').max(1000),
    )
      .default(4)
      .describe('SQS event source maxConcurrency: the API rate-limit knob.'),
    batchSize: int(1, 10).default(5).describe('Page tasks per worker invocation.'),
    maxBatchingWindowSeconds: int(0, 300).default(0).describe('Seconds SQS may wait to fill a batch.'),
    workerTimeoutSeconds: int(10, 900)
      .default(SIZED.workerTimeoutSeconds)
      .describe('Worker Lambda timeout (default from expectedChatsPerDay).'),
    workerMemoryMb: int(128, 10240)
      .default(SIZED.workerMemoryMb)
      .describe('Worker Lambda memory (default from expectedChatsPerDay).'),
    plannerTimeoutSeconds: int(10, 900).default(60).describe('Planner Lambda timeout.'),
    plannerMemoryMb: int(128, 10240).default(256).describe('Planner Lambda memory.'),
    requestTimeoutMs: int(1000, 300_000).default(20_000).describe('Timeout of one LiveChat API request.'),
    maxAttempts: int(1, 20).default(5).describe('How many times drift may force a day to be archived again.'),
    maxReceiveCount: number(
      z
        .number()
        .int()
        .min(5, 'must be at least 5 so throttled or rate-limited tasks are not dead-lettered early')
        .max(1000),
    )
      .default(5)
      .describe('Deliveries of a page task before it goes to the DLQ.'),
    apiUrl: z
      .url({ protocol: /^https$/, error: 'must be an https URL' })
      .default('https://api.livechatinc.com')
      .describe('LiveChat REST API v2 base URL.'),
    source: z
      .enum(['v2', 'v3.6'])
      .default('v2')
      .describe(
        'Which LiveChat API the worker reads: REST API v2 GET /chats, or Agent Chat Web API v3.6 list_archives.',
      ),
    region: z
      .string()
      .regex(/^[a-z]{2,10}$/, 'must be a LiveChat data centre such as dal or fra')
      .optional()
      .describe('X-Region header (dal or fra, the data centre of the account, both sources); API default if unset.'),
    busyDayThreshold: int(1, 1_000_000)
      .default(SIZED.busyDayThreshold)
      .describe('v3.6 only: found_chats above which a day is archived as 24 hour slices instead of one.'),
    slicePagesPerTask: int(1, 100)
      .default(SIZED.slicePagesPerTask)
      .describe(
        'v3.6 only: list_archives cursor pages (100 chats each) one worker task reads at most before it queues the rest of its slice as a next task (default from expectedChatsPerDay).',
      ),
    webhooks: bool
      .default(false)
      .describe(
        "v3.6 only: a public function URL receiving LiveChat's chat_deactivated webhook, so each ended thread is in the lake within a minute (docs/webhooks.md).",
      ),
    webhookReceiverConcurrency: int(1, 1000)
      .default(10)
      .describe(
        'Reserved concurrency of the webhook receiver function: deliveries beyond it are throttled (LiveChat retries).',
      ),
    webhookOwnerClientId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a Developer Console Client ID (letters, digits, - and _)')
      .optional()
      .describe(
        "With webhooks: the Client ID of the Developer Console app that owns the chat_deactivated webhook; the planner's doctor checks every night that it is registered for the receiver and enabled (docs/doctor.md).",
      ),
    bucketNamePrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, 'must be 3-40 lowercase letters, digits or hyphens')
      .optional()
      .describe('Fixed bucket names <prefix>-lake, <prefix>-athena-results, <prefix>-access-logs; generated if unset.'),
    alarmEmail: z
      .email('must be an email address')
      .optional()
      .describe('Subscribed to the alarm topic (confirm the subscription e-mail); this or alarmTopicArn is required.'),
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN')
      .optional()
      .describe(
        'An existing SNS topic (e.g. wired to chat or paging) the alarms go to instead of a new topic; this or alarmEmail is required.',
      ),
    secretName: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Name of an existing secret holding {"login","pat"} / {"bearerToken"} / legacy {"login","apiKey"} (v2) or {"accountId","token"} / {"bearerToken"} (v3.6); the stack creates one to fill in if unset.',
      ),
    projectionStart: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as yyyy-MM-dd')
      .refine(isRealDay, 'must be a calendar date')
      .default(DEFAULT_PROJECTION_START)
      .describe(
        'First dt value Athena partition projection considers; the planner refuses to archive earlier days (Athena would never show them).',
      ),
    bytesScannedCutoffBytes: number(z.number().int().min(10_000_000, 'must be at least 10000000 (the Athena minimum)'))
      .default(SIZED.bytesScannedCutoffBytes)
      .describe('Athena per-query scan limit in the workgroup (default: a year of the lake at expectedChatsPerDay).'),
    glueDatabaseName: z
      .string()
      .regex(/^[a-z0-9_]{1,255}$/, 'must be lowercase letters, digits and underscores')
      .default('livechat_archive')
      .describe('Glue database of the chats table.'),
    athenaWorkGroupName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be letters, digits, dots, hyphens or underscores')
      .default('livechat-archiver')
      .describe('Athena workgroup that enforces result encryption and the scan cutoff.'),
    athenaResultsExpirationDays: int(1, 3650)
      .default(7)
      .describe('Days Athena query results (which hold chat text and visitor names) are kept.'),
    redact: z
      .preprocess(
        fromJson,
        z
          .object({
            fields: z.array(z.string().regex(FIELD_PATH, 'must be dotted field paths such as visitor.ip')).optional(),
            mask: z.array(z.enum(MASK_KINDS)).optional(),
          })
          .strict(),
      )
      .optional()
      .describe(
        'What is never stored: {"fields": [dotted paths dropped from every record], "mask": ["cards", "emails", "phones"] masked in free text} (see "Privacy"); nothing if unset.',
      ),
    attachments: bool
      .default(true)
      .describe(
        'Archive the files chats point to (attachments) under files/, one row each in table chat_files (see "Attachments"); false fetches and stores none.',
      ),
    attachmentHosts: z
      .preprocess(
        fromJson,
        z
          .array(
            z
              .string()
              .regex(
                /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
                'must be host names such as cdn.livechat-files.com or *.example.com',
              ),
          )
          .min(1),
      )
      .default([...LIVECHAT_FILE_HOSTS])
      .describe(
        'The only hosts attachments are fetched from (exact names or *.example.com); a URL on any other host is never requested (status refused_host).',
      ),
    maxAttachmentMb: number(z.number().positive().max(5000))
      .default(DEFAULT_MAX_ATTACHMENT_MB)
      .describe('A larger attachment is not stored and not downloaded past this many MB (status too_large).'),
    retentionDays: int(1, 36500)
      .optional()
      .describe(
        'Days chat files (every chat table prefix) and attachments (files/, chat-files/) are kept after they are written; expired and overwritten copies go a day later (see "Privacy"); kept forever if unset.',
      ),
    noncurrentVersionExpirationDays: int(1, 3650)
      .default(90)
      .describe('Days an overwritten lake object version is kept.'),
    intelligentTieringAfterDays: int(0, 3650)
      .optional()
      .describe(
        'Move compacted (Parquet) day files to INTELLIGENT_TIERING this many days after compaction; off if unset. JSON files stay (most are under 128 KB, which S3 never transitions).',
      ),
    compactionScheduleCron: z
      .string()
      .regex(
        /^cron\(\S+( \S+){5}\)$/,
        'must be an EventBridge Scheduler cron expression with six fields, e.g. cron(30 5 * * ? *)',
      )
      .default('cron(30 5 * * ? *)')
      .describe('When the compaction of settled days into Parquet runs, in timeZone (after the nightly run).'),
    compactionMaxDays: int(1, 3660)
      .default(60)
      .describe('Most days one night compacts (a long history is caught up over several nights).'),
    accessLogExpirationDays: int(1, 3650).default(365).describe('Days S3 server access logs are kept.'),
    logRetentionDays: number(z.number())
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be one of the CloudWatch Logs retention values: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30)
      .describe('Lambda log group retention.'),
    removalPolicy: z
      .enum(['retain', 'destroy'])
      .default('retain')
      .describe('What happens to buckets, secret and logs when the stack is deleted; destroy is for dev stacks.'),
    metricsNamespace: z
      .string()
      .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, 'must be a CloudWatch namespace')
      .default('LivechatArchiver')
      .describe('Namespace of the Powertools custom metrics.'),
    serviceName: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/)
      .default('livechat-archiver')
      .describe('POWERTOOLS_SERVICE_NAME and the metrics service dimension.'),
    logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO').describe('POWERTOOLS_LOG_LEVEL.'),
    tracing: bool.default(false).describe('Active X-Ray tracing on both functions.'),
    oldestMessageAgeAlarmSeconds: int(60, 1_209_600)
      .default(7200)
      .describe('Alarm when the oldest page task has waited longer than this.'),
    scheduleRetryAttempts: int(0, 185).default(3).describe('EventBridge Scheduler retries of a failed planner invoke.'),
    scheduleMaxEventAgeMinutes: int(1, 1440)
      .default(60)
      .describe('EventBridge Scheduler gives up on an invoke after this.'),
  })
  .strict()
  .superRefine((config, ctx) => {
    const tooBig = v2VolumeProblem(config.source, config.expectedChatsPerDay);
    if (tooBig) ctx.addIssue({ code: 'custom', path: ['source'], message: tooBig });
    if (config.source === 'v3.6') {
      const unsupported = (['type', 'rate', 'visitor_id'] as const).filter(
        (name) => config.filters[name] !== undefined,
      );
      if (unsupported.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['filters'],
          message: `${unsupported.join(', ')} have no list_archives (v3.6) equivalent`,
        });
      }
    }
    const skipped = isTimeZone(config.timeZone) && skippedScheduleTime(config.scheduleCron, config.timeZone);
    if (skipped) {
      ctx.addIssue({
        code: 'custom',
        path: ['scheduleCron'],
        message: `runs at ${skipped.time}, which ${config.timeZone} skips when clocks go forward (${skipped.day}): that night would not run; pick a time outside 00:00-03:59, e.g. ${DEFAULT_SCHEDULE_CRON}`,
      });
    }
    if (config.webhooks && config.source !== 'v3.6') {
      ctx.addIssue({
        code: 'custom',
        path: ['webhooks'],
        message: 'needs source v3.6 (webhook threads are read with get_chat and written in the v3.6 shape)',
      });
    }
    if (config.requestTimeoutMs >= config.workerTimeoutSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['requestTimeoutMs'],
        message: `must be shorter than workerTimeoutSeconds (${config.workerTimeoutSeconds} s)`,
      });
    }
  });

export type ArchiverConfig = z.output<typeof configSchema>;
export type ArchiverConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseConfig(raw: unknown): ArchiverConfig {
  const result = configSchema.safeParse(withSizedDefaults(fromJson(raw ?? {})));
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = [CONTEXT_KEY, ...issue.path.map(String)].join('.');
    return `${where}: ${issue.message}`;
  });
  const header = `Invalid ${CONTEXT_KEY} config (cdk.json context or -c):`;
  // One problem, one line; several, one line each under the header.
  throw new ConfigError(
    problems.length === 1 ? `${header} ${problems[0]}` : `${header}\n${problems.map((p) => `  ${p}`).join('\n')}`,
  );
}

/** The volume-dependent keys the input leaves out, filled in for its expectedChatsPerDay. */
function withSizedDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const input = raw as Record<string, unknown>;
  const volume = configSchema.shape.expectedChatsPerDay.safeParse(input['expectedChatsPerDay']);
  if (!volume.success) return raw; // reported by the schema
  return { ...sizingFor(volume.data), ...input };
}

/**
 * Reads `livechatArchiver` from the CDK context; any single key can be
 * overridden on the command line with `-c livechatArchiver.<key>=<value>`.
 */
export function configFromContext(node: Node): ArchiverConfig {
  const base = fromJson(node.tryGetContext(CONTEXT_KEY) ?? {});
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new ConfigError(`${CONTEXT_KEY} context must be an object`);
  }
  const overrides: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value: unknown = node.tryGetContext(`${CONTEXT_KEY}.${key}`);
    if (value !== undefined) overrides[key] = value;
  }
  return requireAlarmTarget(parseConfig({ ...base, ...overrides }));
}

/** A deployment whose alarms notify nobody is refused: one line naming both settings. */
export function requireAlarmTarget(config: ArchiverConfig): ArchiverConfig {
  if (config.alarmEmail || config.alarmTopicArn) return config;
  throw new ConfigError(
    `Set ${CONTEXT_KEY}.alarmEmail (an address; confirm the e-mail AWS sends) or ${CONTEXT_KEY}.alarmTopicArn (an existing SNS topic), e.g. npx cdk deploy -c ${CONTEXT_KEY}.alarmEmail=ops@example.com: alarms must reach a person`,
  );
}
