import { lakeSourceOf } from '#lake/lake-source.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { checkLakeTimeZone, recordedTimeZones } from '#pipeline/lake-time-zone.ts';
import { startLocalWebhookReceiver } from '#pipeline/local-webhook-receiver.ts';
import { InvalidInputError, LivechatAuthError } from '#shared/errors.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import { judgeDelivery, MAX_DELIVERY_BYTES } from '#sources/v36/webhook-delivery.ts';
import { credentialsFrom } from './env-credentials.ts';
import { firstLine } from './parse-flags.ts';
import { argsOrUsage, creatableFolder, wantsHelp } from './run-command.ts';
import { parseWebhooksServeArgs, WEBHOOKS_USAGE, type WebhooksServeArgs } from './webhooks-args.ts';
import { REGISTRATION_USAGE, registrationCommand } from './webhooks-registration-command.ts';

export const WEBHOOKS_EXIT = { ok: 0, failed: 1, usage: 2, auth: 3 } as const;

export interface WebhooksCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted by Ctrl-C / SIGTERM: stop accepting, finish what is in flight, exit. */
  signal: AbortSignal;
  clientOverrides?: { timeoutMs?: number; baseRetryDelayMs?: number; maxRetryDelayMs?: number };
  redeliveryDelayMs?: number;
}

/** `npm run webhooks`: returns the exit code once stopped; one line per problem. */
export async function webhooksCommand(argv: readonly string[], io: WebhooksCommandIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'register' || first === 'list' || first === 'unregister') {
    if (wantsHelp(rest)) {
      io.stdout.write(`${REGISTRATION_USAGE}\n`);
      return WEBHOOKS_EXIT.ok;
    }
    return registrationCommand(first, rest, io);
  }
  if (wantsHelp(argv)) {
    io.stdout.write(`${WEBHOOKS_USAGE}\n`);
    return WEBHOOKS_EXIT.ok;
  }
  const args = argsOrUsage(() => parseWebhooksServeArgs(argv), WEBHOOKS_USAGE, io.stderr);
  if (!args) return WEBHOOKS_EXIT.usage;
  const secret = io.env.LIVECHAT_WEBHOOK_SECRET;
  const credentials = credentialsFrom({ source: 'v3.6' }, io.env);
  const problem =
    typeof credentials === 'string'
      ? credentials
      : !secret
        ? 'set LIVECHAT_WEBHOOK_SECRET (the secret_key the webhook was registered with) in the environment'
        : undefined;
  if (problem || typeof credentials === 'string' || credentials.kind !== 'v3.6' || !secret) {
    io.stderr.write(`error: ${problem ?? 'webhooks need v3.6 credentials'}\n`);
    return WEBHOOKS_EXIT.usage;
  }
  let timeZone: string;
  const sink = new LocalFileSink(args.out);
  try {
    creatableFolder(args.out, '--out');
    timeZone = await lakeZone(args, sink);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    io.stderr.write(`error: ${error.message}\n`);
    return WEBHOOKS_EXIT.usage;
  }

  const client = createArchivesClient({
    ...io.clientOverrides,
    apiUrl: args.apiUrl,
    credentials: credentials.credentials,
    ...(args.region ? { region: args.region } : {}),
  });
  let failures = 0;
  let authFailed = false;
  let stopAll: (() => void) | undefined;
  const receiver = await startLocalWebhookReceiver({
    source: v36Source(client),
    sink,
    judge: (body) => judgeDelivery(body, secret, timeZone),
    maxBodyBytes: MAX_DELIVERY_BYTES,
    timeZone,
    host: args.host,
    port: args.port,
    ...(io.redeliveryDelayMs !== undefined ? { redeliveryDelayMs: io.redeliveryDelayMs } : {}),
    onDelivery: (verdict) => {
      if (verdict.outcome === 'accepted') return;
      io.stderr.write(`${verdict.outcome} delivery (${verdict.status}): ${verdict.reason}\n`);
    },
    onWritten: (written, threadId) => {
      const where = written.chats ? `dt=${written.day}` : 'not written (erased visitor or no transcript)';
      io.stdout.write(`thread ${threadId}: ${where}\n`);
    },
    onFailed: (threadId, error) => {
      failures += 1;
      io.stderr.write(`error: thread ${threadId} not archived: ${firstLine(error)}\n`);
      if (error instanceof LivechatAuthError) {
        authFailed = true;
        stopAll?.();
      }
    },
  });
  io.stdout.write(`listening on ${receiver.url} (lake ${sink.location}, days cut in ${timeZone})\n`);
  await new Promise<void>((resolve) => {
    stopAll = resolve;
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  io.stderr.write('stopping: finishing the threads in flight\n');
  await receiver.stop();
  io.stderr.write(`stopped${failures ? `: ${failures} thread(s) not archived (the nightly run archives them)` : ''}\n`);
  if (authFailed) return WEBHOOKS_EXIT.auth;
  return failures ? WEBHOOKS_EXIT.failed : WEBHOOKS_EXIT.ok;
}

/** The zone the lake's days are cut in; refuses a v2 lake and a zone other than the recorded one. */
async function lakeZone(args: WebhooksServeArgs, sink: LocalFileSink): Promise<string> {
  const source = await lakeSourceOf(sink);
  if (source === 'v2') {
    throw new InvalidInputError(
      `the lake ${sink.location} is archived from REST API v2; webhooks write the v3.6 shape (chat_threads): archive it with --source v3.6, or use a new lake`,
    );
  }
  if (args.timeZone) {
    await checkLakeTimeZone(sink, args.timeZone);
    return args.timeZone;
  }
  return (await recordedTimeZones(sink))[0] ?? 'UTC';
}
