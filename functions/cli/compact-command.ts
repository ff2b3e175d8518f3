import { existsSync } from 'node:fs';
import { stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { type CompactedMonth, compactLake } from '#lake/compaction.ts';
import { ARCHIVES_PREFIX, compactedTablePrefix } from '#lake/lake-layout.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { isRealDay } from '#shared/day-range.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { SOURCE_INFO } from '#sources/source-registry.ts';
import { parseFlags, stringFlags } from './parse-flags.ts';
import { argsOrUsage, existingFolder, wantsHelp } from './run-command.ts';

export const COMPACT_USAGE = `usage: npm run compact -- [--lake DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
Compacts the settled days of a folder lake (default: lake) into Parquet: small days into one file per month
and table, busier days into one file per day and table (docs/compaction.md)`;

export const COMPACT_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CompactArgs {
  dir: string;
  from?: string;
  to?: string;
}

export function parseCompactArgs(argv: readonly string[]): CompactArgs {
  const values = parseFlags(argv, { ...stringFlags('lake', 'from', 'to') });
  for (const flag of ['from', 'to'] as const) {
    const day = values[flag];
    if (day !== undefined && !isRealDay(day))
      throw new InvalidInputError(`--${flag} must be a day YYYY-MM-DD, got "${day}"`);
  }
  if (values.from && values.to && values.from > values.to) {
    throw new InvalidInputError(`--from ${values.from} is after --to ${values.to}`);
  }
  return {
    dir: values.lake ?? 'lake',
    ...(values.from ? { from: values.from } : {}),
    ...(values.to ? { to: values.to } : {}),
  };
}

/** `npm run compact`: compacts a folder lake's settled days into Parquet; returns the exit code. */
export async function compactCommand(
  argv: readonly string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${COMPACT_USAGE}\n`);
    return COMPACT_EXIT.ok;
  }
  const args = argsOrUsage(() => parseCompactArgs(argv), COMPACT_USAGE, io.stderr);
  if (!args) return COMPACT_EXIT.usage;
  try {
    existingFolder(args.dir, '--lake');
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return COMPACT_EXIT.usage;
  }
  const sink = new LocalFileSink(args.dir);
  // A lake with raw v3.6 entries merges as the v3.6 source settles it (the raw entry decides).
  const v36 = [ARCHIVES_PREFIX, compactedTablePrefix(ARCHIVES_PREFIX)].some((prefix) =>
    existsSync(path.join(args.dir, prefix)),
  );
  try {
    const result = await compactLake({
      sink,
      tables: SOURCE_INFO[v36 ? 'v3.6' : 'v2'].mergedTables,
      ...(args.from ? { from: args.from } : {}),
      ...(args.to ? { to: args.to } : {}),
      erasures: () => ErasedVisitors.load(sink),
      keepAge: (written, inputs) => keepNewestAge(args.dir, written, inputs),
      onMonth: (month) => io.stdout.write(monthLines(month)),
    });
    io.stdout.write(`${summary(result.months)}\n`);
    return COMPACT_EXIT.ok;
  } catch (error) {
    io.stderr.write(`error: compaction stopped: ${(error as Error).message.split('\n')[0]}\n`);
    return COMPACT_EXIT.failed;
  }
}

/** The written file takes the newest input's modification time: prune's clock is the day's last archive, not the compaction. */
export async function keepNewestAge(dir: string, written: string, inputs: readonly string[]): Promise<void> {
  const times = await Promise.all(
    inputs.map((key) =>
      stat(path.join(dir, key)).then(
        (info) => info.mtime,
        () => undefined,
      ),
    ),
  );
  const newest = times.reduce<Date | undefined>((max, time) => (time && (!max || time > max) ? time : max), undefined);
  if (newest) await utimes(path.join(dir, written), newest, newest);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** A line per day compacted (or left alone), then the month's files: what was read, what was written. */
function monthLines(month: CompactedMonth): string {
  const lines = month.days.map((day) =>
    day.status === 'not_settled'
      ? `${day.day}  left alone: a pass is still writing it (archive it again, then compact)`
      : `${day.day}  ${day.chats} chats -> ${day.into === 'month' ? `the ${month.month} file` : 'a file of its own'}`,
  );
  if (month.written.files > 0 || month.read.files > 0) {
    lines.push(
      `${month.month}  ${month.read.files} files (${kb(month.read.bytes)}) -> ${month.written.files} Parquet (${kb(month.written.bytes)})`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

function summary(months: readonly CompactedMonth[]): string {
  const days = months.flatMap((month) => month.days);
  const done = days.filter((day) => day.status === 'compacted');
  const left = days.length - done.length;
  if (days.length === 0) return 'nothing to compact: every day in range is compacted already (or has no files)';
  const read = months.reduce((sum, month) => sum + month.read.files, 0);
  const written = months.reduce((sum, month) => sum + month.written.files, 0);
  return `compacted ${done.length} day${done.length === 1 ? '' : 's'}: ${read} files -> ${written} Parquet file${written === 1 ? '' : 's'}${left ? `; ${left} not settled, left alone` : ''}`;
}
