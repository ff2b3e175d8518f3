import { S3Client } from '@aws-sdk/client-s3';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import type { RunManifest } from '#pipeline/run-manifest.ts';
import { runIdAt } from '#pipeline/run-planner.ts';
import { InvalidInputError, LivechatError } from '#shared/errors.ts';
import type { ArchiveSource } from '#sources/archive-source.ts';
import type { RetryEvent } from '#sources/retrying-api.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { v2Source } from '#sources/v2/v2-source.ts';
import { createArchivesClient, type V36Credentials } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { type ArchiveArgs, type ArchiveDestination, parseArchiveArgs, USAGE } from './archive-args.ts';
import { createProgressReporter } from './progress-reporter.ts';

export const EXIT = { ok: 0, incomplete: 1, usage: 2, auth: 3, interrupted: 130 } as const;

export interface ArchiveCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  signal?: AbortSignal;
  /** Client tuning for tests (e.g. short backoff); production uses the defaults. */
  clientOverrides?: { timeoutMs?: number; baseRetryDelayMs?: number; maxRetryDelayMs?: number };
  redeliveryDelayMs?: number;
  /** v3.6 slicing for tests (e.g. a low busy-day threshold); production uses the defaults. */
  v36Overrides?: { busyDayThreshold?: number; pageLimit?: number };
}

/** `npm run archive`: returns the process exit code; prints one line per problem. */
export async function archiveCommand(argv: readonly string[], io: ArchiveCommandIo): Promise<number> {
  let args;
  try {
    args = parseArchiveArgs(argv);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    io.stderr.write(`error: ${error.message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  const credentials = credentialsFrom(args, io.env);
  if (typeof credentials === 'string') {
    io.stderr.write(`error: ${credentials}\n`);
    return EXIT.usage;
  }

  const sink = createSink(args.destination);
  io.stderr.write(`archiving ${args.days.length} day(s) ${args.days[0]}..${args.days.at(-1)} into ${sink.location}\n`);
  const progress = createProgressReporter(args.days.length, io.stderr);
  const source = createSource(
    args,
    credentials,
    (event) => progress.onRetry(event),
    io.clientOverrides,
    io.v36Overrides,
  );
  const runId = runIdAt('local', new Date());

  let manifest: RunManifest;
  try {
    manifest = await runArchive({
      runId,
      days: args.days,
      filters: args.filters,
      source,
      sink,
      concurrency: args.concurrency,
      maxAttempts: args.maxAttempts,
      redeliveryDelayMs: io.redeliveryDelayMs,
      onEvent: (event) => progress.onEvent(event),
      retries: () => progress.retries,
      signal: io.signal,
    });
  } catch (error) {
    progress.stop();
    if (error instanceof LivechatError) {
      io.stderr.write(`error: ${error.message}\n`);
      return EXIT.auth;
    }
    throw error;
  }
  progress.stop();
  io.stdout.write(formatSummary(manifest));
  if (io.signal?.aborted) return EXIT.interrupted;
  return manifest.complete ? EXIT.ok : EXIT.incomplete;
}

type Credentials = { kind: 'v2'; login: string; apiKey: string } | { kind: 'v3.6'; credentials: V36Credentials };

/** The source's credentials from the environment, or the one-line problem. */
function credentialsFrom(args: ArchiveArgs, env: NodeJS.ProcessEnv): Credentials | string {
  if (args.source === 'v2') {
    const login = env.LIVECHAT_LOGIN;
    const apiKey = env.LIVECHAT_API_KEY;
    return login && apiKey
      ? { kind: 'v2', login, apiKey }
      : 'set LIVECHAT_LOGIN and LIVECHAT_API_KEY in the environment';
  }
  const accountId = env.LIVECHAT_ACCOUNT_ID;
  const token = env.LIVECHAT_PAT;
  const bearer = env.LIVECHAT_BEARER_TOKEN;
  if (accountId && token) return { kind: 'v3.6', credentials: { kind: 'pat', accountId, token } };
  if (bearer) return { kind: 'v3.6', credentials: { kind: 'bearer', token: bearer } };
  return 'for --source v3.6 set LIVECHAT_ACCOUNT_ID and LIVECHAT_PAT, or LIVECHAT_BEARER_TOKEN, in the environment';
}

function createSource(
  args: ArchiveArgs,
  credentials: Credentials,
  onRetry: (event: RetryEvent) => void,
  overrides: ArchiveCommandIo['clientOverrides'],
  v36Overrides: ArchiveCommandIo['v36Overrides'],
): ArchiveSource {
  if (credentials.kind === 'v2') {
    return v2Source(createLivechatClient({ apiUrl: args.apiUrl, ...credentials, onRetry, ...overrides }));
  }
  const client = createArchivesClient({
    apiUrl: args.apiUrl,
    credentials: credentials.credentials,
    ...(args.region ? { region: args.region } : {}),
    onRetry,
    ...overrides,
  });
  return v36Source(client, v36Overrides);
}

function createSink(destination: ArchiveDestination): LakeSink {
  return destination.kind === 'folder'
    ? new LocalFileSink(destination.dir)
    : new S3Sink(new S3Client({}), destination.bucket, destination.prefix);
}

export function formatSummary(manifest: RunManifest): string {
  const { totals } = manifest;
  const lines = [
    `run ${manifest.runId}: ${manifest.complete ? 'complete' : 'INCOMPLETE'}`,
    `  days ${totals.daysComplete}/${totals.days} complete, ${totals.pages} pages, ${totals.chats} chats, ` +
      `${totals.retries} retries, ${totals.drift} drift re-archives`,
    `  lake ${manifest.lake}`,
  ];
  for (const day of manifest.days.filter((record) => record.status !== 'complete')) {
    lines.push(`  ${day.status} ${day.day}: ${day.problem ?? ''} (${day.chatsWritten}/${day.expectedTotal} chats)`);
  }
  return `${lines.join('\n')}\n`;
}
