import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { PRUNE_USAGE, parsePruneArgs } from './prune-args.ts';
import { argsOrUsage, existingFolder, wantsHelp } from './run-command.ts';

export const PRUNE_EXIT = { ok: 0, usage: 2 } as const;

/** `npm run prune`: deletes local chat files older than N days; returns the exit code. */
export async function pruneCommand(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; now?: () => Date },
): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${PRUNE_USAGE}\n`);
    return PRUNE_EXIT.ok;
  }
  const args = argsOrUsage(() => parsePruneArgs(argv), PRUNE_USAGE, io.stderr);
  if (!args) return PRUNE_EXIT.usage;
  try {
    existingFolder(args.dir, '--out');
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return PRUNE_EXIT.usage;
  }
  const result = await pruneLocalLake({ ...args, ...(io.now ? { now: io.now } : {}) });
  const files = `${result.files.length} chat file${result.files.length === 1 ? '' : 's'}`;
  io.stdout.write(
    `${args.dryRun ? `dry run: ${files} would be deleted` : `deleted ${files}`} ` +
      `(${result.bytes} bytes) written more than ${args.olderThanDays} days ago\n`,
  );
  const { rewritten, days } = result.monthFiles;
  if (rewritten.length > 0) {
    io.stdout.write(
      `${args.dryRun ? 'dry run: would rewrite' : 'rewrote'} ${rewritten.length} compacted month file(s) without ${days.length} expired day(s): ${days[0]}${days.length > 1 ? ` … ${days.at(-1)}` : ''}\n`,
    );
  }
  if (result.records.length > 0) {
    io.stdout.write(
      `${args.dryRun ? 'dry run: would delete' : 'deleted'} ${result.records.length} record(s) of passes and day merges last written more than ${args.olderThanDays} days ago\n`,
    );
  }
  if (result.leftovers.length > 0) {
    io.stdout.write(
      `deleted ${result.leftovers.length} leftover file(s) of interrupted writes (*.partial, stale locks)\n`,
    );
  }
  return PRUNE_EXIT.ok;
}
