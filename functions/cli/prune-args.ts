import { InvalidInputError } from '#shared/errors.ts';
import { integerFlag, parseFlags, stringFlags } from './parse-flags.ts';

export const PRUNE_USAGE = `usage: npm run prune -- --out DIR --older-than-days N [--dry-run]
S3 lakes: set retentionDays in cdk.json (a lifecycle rule does the same there)`;

export interface PruneArgs {
  dir: string;
  olderThanDays: number;
  dryRun: boolean;
}

/** Parses and validates `npm run prune` arguments; any problem is one InvalidInputError line. */
export function parsePruneArgs(argv: readonly string[]): PruneArgs {
  const values = parseFlags(argv, {
    ...stringFlags('out', 'older-than-days'),
    'dry-run': { type: 'boolean' },
  });
  if (!values.out?.trim()) throw new InvalidInputError('give the lake folder: --out DIR');
  const days = values['older-than-days'];
  if (days === undefined)
    throw new InvalidInputError('give --older-than-days N (files written more than N days ago go)');
  const olderThanDays = integerFlag('older-than-days', days, 1, 36_500);
  return { dir: values.out, olderThanDays, dryRun: values['dry-run'] ?? false };
}
