import { normalizeEmail, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { InvalidInputError } from '#shared/errors.ts';
import * as z from '#shared/zod-mini.ts';
import { type LakeDestination, parseLakeDestination } from './lake-destination.ts';
import { integerFlag, parseFlags, stringFlags } from './parse-flags.ts';

export const ERASE_USAGE = `usage: npm run erase -- (--visitor-id ID | --email ADDRESS) (--out DIR | --bucket NAME [--prefix P])
         [--dry-run] [--concurrency N]
S3: runs with your own AWS credentials (the archiver's roles cannot erase); see docs/privacy.md`;

export interface EraseArgs {
  target: VisitorIdentifier;
  destination: LakeDestination;
  dryRun: boolean;
  concurrency: number;
}

const emailSchema = z.email();

/** Parses and validates `npm run erase` arguments; any problem is one InvalidInputError line. */
export function parseEraseArgs(argv: readonly string[]): EraseArgs {
  const values = parseFlags(argv, {
    ...stringFlags('visitor-id', 'email', 'out', 'bucket', 'prefix', 'concurrency'),
    'dry-run': { type: 'boolean' },
  });

  const visitorId = values['visitor-id'];
  const email = values.email;
  if (visitorId !== undefined && email !== undefined) {
    throw new InvalidInputError('give either --visitor-id or --email, not both (erase each separately)');
  }
  let target: VisitorIdentifier;
  if (visitorId !== undefined) {
    if (!visitorId.trim()) throw new InvalidInputError('--visitor-id must not be empty');
    target = { kind: 'visitor-id', value: visitorId.trim() };
  } else if (email !== undefined) {
    const address = normalizeEmail(email);
    // The address itself is not echoed: it is the personal data being erased.
    if (!emailSchema.safeParse(address).success) throw new InvalidInputError('--email is not a valid e-mail address');
    target = { kind: 'email', value: address };
  } else {
    throw new InvalidInputError('give the visitor to erase: --visitor-id ID or --email ADDRESS');
  }

  return {
    target,
    destination: parseLakeDestination(values),
    dryRun: values['dry-run'] ?? false,
    concurrency: integerFlag('concurrency', values.concurrency ?? '8', 1, 64),
  };
}
