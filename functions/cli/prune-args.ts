import { parseArgs } from 'node:util';
import { InvalidInputError } from '#shared/errors.ts';

export const PRUNE_USAGE = `usage: npm run prune -- --out DIR --older-than-days N [--dry-run]
S3 lakes: set retentionDays in cdk.json (a lifecycle rule does the same there)`;

export interface PruneArgs {
  dir: string;
  olderThanDays: number;
  dryRun: boolean;
}

/** Parses and validates `npm run prune` arguments; any problem is one InvalidInputError line. */
export function parsePruneArgs(argv: readonly string[]): PruneArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        out: { type: 'string' },
        'older-than-days': { type: 'string' },
        'dry-run': { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new InvalidInputError((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  if (!values.out?.trim()) throw new InvalidInputError('give the lake folder: --out DIR');
  const days = values['older-than-days'];
  if (days === undefined)
    throw new InvalidInputError('give --older-than-days N (files written more than N days ago go)');
  if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 36_500) {
    throw new InvalidInputError(`--older-than-days must be a whole number from 1 to 36500, got "${days}"`);
  }
  return { dir: values.out, olderThanDays: Number(days), dryRun: values['dry-run'] ?? false };
}
