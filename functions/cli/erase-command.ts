import { S3Client } from '@aws-sdk/client-s3';
import { type EraseResult, eraseVisitor } from '#privacy/erase-visitor.ts';
import { S3NoncurrentVersions } from '#privacy/object-versions.ts';
import { ERASE_USAGE, parseEraseArgs } from './erase-args.ts';
import { createSink } from './lake-destination.ts';
import { argsOrUsage, existingFolder, wantsHelp } from './run-command.ts';

export const ERASE_EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface EraseCommandIo {
  /** ERASE_EMAIL / ERASE_VISITOR_ID: the identifier without npm echoing it. */
  env?: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal?: AbortSignal;
  /** The S3 client for --bucket (tests pass a mocked one); the usual AWS environment otherwise. */
  s3?: S3Client;
}

/** `npm run erase`: returns the exit code. Output never repeats the visitor's identifier. */
export async function eraseCommand(argv: readonly string[], io: EraseCommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${ERASE_USAGE}\n`);
    return ERASE_EXIT.ok;
  }
  const args = argsOrUsage(() => parseEraseArgs(argv, io.env), ERASE_USAGE, io.stderr);
  if (!args) return ERASE_EXIT.usage;
  try {
    if (args.destination.kind === 'folder') existingFolder(args.destination.dir, '--out');
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return ERASE_EXIT.usage;
  }
  const s3 = args.destination.kind === 'bucket' ? (io.s3 ?? new S3Client({})) : undefined;
  const sink = createSink(args.destination, s3);
  const versions =
    s3 && args.destination.kind === 'bucket'
      ? new S3NoncurrentVersions(s3, args.destination.bucket, args.destination.prefix)
      : undefined;
  io.stderr.write(`${args.dryRun ? 'dry run: looking for' : 'erasing'} the visitor's chats in ${sink.location}\n`);
  let result: EraseResult;
  try {
    result = await eraseVisitor({
      sink,
      target: args.target,
      dryRun: args.dryRun,
      concurrency: args.concurrency,
      ...(versions ? { versions } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (error) {
    io.stderr.write(`error: erase failed: ${(error as Error).message}; run the same command again to complete it\n`);
    return ERASE_EXIT.failed;
  }
  io.stdout.write(formatEraseResult(result, versions !== undefined));
  return result.complete ? ERASE_EXIT.ok : ERASE_EXIT.interrupted;
}

export function formatEraseResult(result: EraseResult, versioned: boolean): string {
  const chats =
    `${result.chats} chat${result.chats === 1 ? '' : 's'}` +
    (result.rows !== result.chats ? ` (${result.rows} rows across the chat tables)` : '');
  const files = `${result.files.length} file${result.files.length === 1 ? '' : 's'}`;
  const versions = versioned
    ? `, ${result.versions} noncurrent version${result.versions === 1 ? '' : 's'}${result.dryRun ? ' to delete' : ' deleted'}`
    : '';
  const lines = [
    result.dryRun
      ? `dry run: ${chats} in ${files} would be erased${versions} (${result.filesScanned} files scanned, nothing changed)`
      : `${result.complete ? 'erased' : 'INTERRUPTED after erasing'} ${chats} from ${files}${versions} (${result.filesScanned} files scanned)`,
    ...result.files.map((key) => `  ${key}`),
  ];
  if (result.attachments > 0) {
    lines.push(
      `${result.dryRun ? 'would delete' : 'deleted'} ${result.attachments} attachment object(s) of these chats (files/ and their chat_files rows${versioned ? ', noncurrent versions included' : ''})`,
    );
  }
  if (result.leftovers.length > 0) {
    lines.push(`deleted ${result.leftovers.length} leftover file(s) of interrupted writes (*.partial, stale locks)`);
  }
  if (result.recordKey) {
    lines.push(`erasure record ${result.recordKey}: archive runs from now on drop this visitor's chats`);
  }
  if (!result.complete) lines.push('run the same command again to complete the erase');
  return `${lines.join('\n')}\n`;
}
