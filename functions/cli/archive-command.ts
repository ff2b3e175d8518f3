import { S3Client } from '@aws-sdk/client-s3';
import { runArchive } from '../core/archive-run.ts';
import { InvalidInputError, LivechatError } from '../core/errors.ts';
import { createLivechatClient } from '../core/livechat-client.ts';
import type { RunManifest } from '../core/run-manifest.ts';
import type { LakeSink } from '../core/sinks/lake-sink.ts';
import { LocalFileSink } from '../core/sinks/local-file-sink.ts';
import { S3Sink } from '../core/sinks/s3-sink.ts';
import { parseArchiveArgs, USAGE, type ArchiveDestination } from './archive-args.ts';
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
  const login = io.env.LIVECHAT_LOGIN;
  const apiKey = io.env.LIVECHAT_API_KEY;
  if (!login || !apiKey) {
    io.stderr.write('error: set LIVECHAT_LOGIN and LIVECHAT_API_KEY in the environment\n');
    return EXIT.usage;
  }

  const sink = createSink(args.destination);
  io.stderr.write(`archiving ${args.days.length} day(s) ${args.days[0]}..${args.days.at(-1)} into ${sink.location}\n`);
  const progress = createProgressReporter(args.days.length, io.stderr);
  const client = createLivechatClient({
    apiUrl: args.apiUrl,
    login,
    apiKey,
    onRetry: (event) => progress.onRetry(event),
    ...io.clientOverrides,
  });
  const runId = `local-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;

  let manifest: RunManifest;
  try {
    manifest = await runArchive({
      runId,
      days: args.days,
      filters: args.filters,
      client,
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
