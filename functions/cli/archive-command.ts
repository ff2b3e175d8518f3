import { S3Client } from '@aws-sdk/client-s3';
import { beforeProjectionStart, DEFAULT_PROJECTION_START } from '#lake/athena-projection.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { uniqueRunId } from '#pipeline/run-planner.ts';
import { resumePoint } from '#pipeline/run-resume.ts';
import { readCompactedRecords } from '#privacy/rewrite-parquet-without.ts';
import { InvalidInputError, LivechatError } from '#shared/errors.ts';
import { FILE_STATUSES, type FileCounts, totalFiles } from '#shared/file-refs.ts';
import { lifecycleWarning } from '#sources/api-lifecycle.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import { type SafeFileFetcherOptions, safeFileFetcher } from '#sources/attachments/safe-file-fetcher.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { type ArchiveArgs, type ArchiveDestination, parseArchiveArgs, USAGE } from './archive-args.ts';
import { beyondRetention } from './archive-retention.ts';
import { type Credentials, credentialsFrom } from './env-credentials.ts';
import { createProgressReporter } from './progress-reporter.ts';
import { argsOrUsage, creatableFolder, wantsHelp } from './run-command.ts';

export const EXIT = { ok: 0, incomplete: 1, usage: 2, auth: 3, interrupted: 130 } as const;

export interface ArchiveCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  signal?: AbortSignal;
  /** Client tuning for tests (e.g. short backoff); production uses the defaults. */
  clientOverrides?: { timeoutMs?: number; baseRetryDelayMs?: number; maxRetryDelayMs?: number };
  redeliveryDelayMs?: number;
  /** File fetching for tests (e.g. short retry backoff); production uses the defaults. */
  fileFetcherOverrides?: Pick<SafeFileFetcherOptions, 'baseRetryDelayMs' | 'timeoutMs'>;
  /** v3.6 slicing for tests (e.g. a low busy-day threshold); production uses the defaults. */
  v36Overrides?: { busyDayThreshold?: number; pageLimit?: number; pagesPerTask?: number };
  /** The clock (tests, and the demo's simulated dates): which day is today, and the run's timestamps. */
  now?: () => Date;
}

/** `npm run archive`: returns the process exit code; prints one line per problem. */
export async function archiveCommand(argv: readonly string[], io: ArchiveCommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  const args = argsOrUsage(() => parseArchiveArgs(argv, undefined, io.now?.()), USAGE, io.stderr);
  if (!args) return EXIT.usage;
  try {
    if (args.destination.kind === 'folder') creatableFolder(args.destination.dir, '--out');
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const credentials = credentialsFrom(args, io.env);
  if (typeof credentials === 'string') {
    io.stderr.write(`error: ${credentials}\n`);
    return EXIT.usage;
  }
  const tooOld = await beyondRetention(args, credentials, io.clientOverrides);
  if (tooOld) {
    io.stderr.write(`error: ${tooOld}\n`);
    return EXIT.usage;
  }

  const sink = createSink(args.destination);
  const resumed = args.full ? undefined : await resumePoint(sink, args.days);
  const days = args.days.filter((day) => !resumed?.days.includes(day));
  io.stderr.write(
    `archiving ${args.days.length} day(s) ${args.days[0]}..${args.days.at(-1)} (${args.timeZone}) into ${sink.location}\n`,
  );
  if (resumed && resumed.days.length > 0) {
    io.stderr.write(
      `resuming the interrupted run ${resumed.runId}: ${resumed.days.length} day(s) it completed are not fetched again (--full archives them again)\n`,
    );
  }
  const hidden = beforeProjectionStart(args.days[0]!, DEFAULT_PROJECTION_START);
  // The CLI does not know the stack's setting: it warns against the default and archives anyway (DuckDB reads every day).
  if (hidden) io.stderr.write(`warning: ${hidden} (the default; DuckDB reads a local lake's every day)\n`);
  const progress = createProgressReporter(days.length, io.stderr);
  let lifecycleWarned = false;
  const hooks: SourceHooks = {
    onRetry: (event) => progress.onRetry(event),
    // One warning per run, however many responses carry the header.
    onLifecycle: (notice) => {
      if (lifecycleWarned) return;
      lifecycleWarned = true;
      progress.warn(lifecycleWarning(notice));
    },
  };
  const source = createSource(args, credentials, hooks, io.clientOverrides, io.v36Overrides);
  const runId = uniqueRunId('local', io.now?.() ?? new Date());

  let manifest: RunManifest;
  try {
    manifest = await runArchive({
      runId,
      days,
      ...(resumed && resumed.days.length > 0 ? { resumed } : {}),
      filters: args.filters,
      timeZone: args.timeZone,
      source,
      sink,
      ...(args.redaction ? { redaction: args.redaction } : {}),
      concurrency: args.concurrency,
      maxAttempts: args.maxAttempts,
      ...(args.attachments.enabled
        ? {
            files: {
              fetcher: safeFileFetcher({ ...args.attachments, ...io.fileFetcherOverrides }),
              // The CLI has DuckDB: a files task sees a compacted day's chats and stored file rows.
              readCompacted: readCompactedRecords,
            },
          }
        : {}),
      redeliveryDelayMs: io.redeliveryDelayMs,
      onEvent: (event) => progress.onEvent(event),
      retries: () => progress.retries,
      signal: io.signal,
      ...(io.now ? { now: io.now } : {}),
    });
  } catch (error) {
    progress.stop();
    if (error instanceof LivechatError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.auth;
    }
    if (error instanceof InvalidInputError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  progress.stop();
  io.stdout.write(formatSummary(manifest));
  if (io.signal?.aborted) return EXIT.interrupted;
  return manifest.complete ? EXIT.ok : EXIT.incomplete;
}

type SourceHooks = Pick<RetryingApiTuning, 'onRetry' | 'onLifecycle'>;

function createSource(
  args: ArchiveArgs,
  credentials: Credentials,
  hooks: SourceHooks,
  overrides: ArchiveCommandIo['clientOverrides'],
  v36Overrides: ArchiveCommandIo['v36Overrides'],
): ArchiveSource {
  const region = args.region ? { region: args.region } : {};
  if (credentials.kind === 'v2') {
    const { credentials: v2 } = credentials;
    return v2Source(createLivechatClient({ apiUrl: args.apiUrl, credentials: v2, ...region, ...hooks, ...overrides }));
  }
  const client = createArchivesClient({
    apiUrl: args.apiUrl,
    credentials: credentials.credentials,
    ...region,
    ...hooks,
    ...overrides,
  });
  return v36Source(client, v36Overrides);
}

function createSink(destination: ArchiveDestination): LakeSink {
  return destination.kind === 'folder'
    ? new LocalFileSink(destination.dir)
    : new S3Sink(new S3Client({}), destination.bucket, destination.prefix);
}

/** `files 12 (11 stored, 1.2 MB; 1 gone; …), 3 downloaded`: every status, once, in the summary. */
export function formatFileCounts(counts: FileCounts): string {
  const stored = `${counts.stored} stored, ${formatBytes(counts.bytes)}`;
  const others = FILE_STATUSES.filter((status) => status !== 'stored').map((status) => `${counts[status]} ${status}`);
  return `files ${totalFiles(counts)} (${[stored, ...others].join('; ')}), ${counts.downloaded} downloaded this run`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

export function formatSummary(manifest: RunManifest): string {
  const { totals } = manifest;
  const inProgress = manifest.days.some((day) => day.status === 'in-progress');
  const state = manifest.interrupted
    ? 'INTERRUPTED (run the same command again to resume)'
    : !manifest.complete
      ? 'INCOMPLETE'
      : inProgress
        ? 'complete as far as the days have gone'
        : 'complete';
  const lines = [
    `run ${manifest.runId}: ${state} (days in ${manifest.timeZone})`,
    `  days ${totals.daysComplete}/${totals.days} complete${totals.daysKept > 0 ? `, ${totals.daysKept} kept` : ''}, ` +
      `${totals.pages} pages, ${totals.chats} chats, ` +
      `${totals.retries} retries, ${totals.drift} drift re-archives, ` +
      `${totals.dropped} chats of erased visitors dropped`,
    `  lake ${manifest.lake}`,
  ];
  if (manifest.resumed) {
    lines.push(
      `  resumed: ${manifest.resumed.days.length} day(s) completed by the interrupted run ${manifest.resumed.runId}, not fetched again`,
    );
  }
  if (totals.files) lines.push(`  ${formatFileCounts(totals.files)}`);
  if (totals.kept > 0) {
    lines.push(`  ${totals.kept} archived chats kept that LiveChat no longer returned (the lake only grows)`);
  }
  for (const day of manifest.days) {
    const kept = day.chatsKept > 0 ? `, ${day.chatsKept} more kept from earlier runs` : '';
    if (day.status === 'kept') {
      lines.push(`  kept ${day.day}: LiveChat returned ${day.chatsWritten} of the day's chats${kept}`);
    } else if (day.status !== 'complete') {
      lines.push(
        `  ${day.status} ${day.day}: ${day.problem ?? ''} (${day.chatsWritten}/${day.expectedTotal} chats${kept})`,
      );
    }
  }
  if (manifest.unknownFields.length > 0) {
    lines.push(
      `  unknown fields (kept verbatim in the lake, not columns of the table; extend functions/lake/chat-columns.ts): ${manifest.unknownFields.join(', ')}`,
    );
  }
  if (manifest.totals.schemaViolations > 0) {
    lines.push(
      `  schema violations: ${manifest.totals.schemaViolations} values did not fit their column's type (kept in _mistyped, every query still reads the days): ${manifest.mistypedFields.join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
