import { parseArgs } from 'node:util';
import { normalizeEmail, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { InvalidInputError } from '#shared/errors.ts';
import * as z from '#shared/zod-mini.ts';
import { type LakeDestination, parseLakeDestination } from './lake-destination.ts';

export const ERASE_USAGE = `usage: npm run erase -- (--visitor-id ID | --email ADDRESS) (--out DIR | --bucket NAME [--prefix P])
         [--dry-run] [--concurrency N]
S3: runs with your own AWS credentials (the archiver's roles cannot erase); see README "Privacy"`;

export interface EraseArgs {
  target: VisitorIdentifier;
  destination: LakeDestination;
  dryRun: boolean;
  concurrency: number;
}

const emailSchema = z.email();

/** Parses and validates `npm run erase` arguments; any problem is one InvalidInputError line. */
export function parseEraseArgs(argv: readonly string[]): EraseArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'visitor-id': { type: 'string' },
        email: { type: 'string' },
        out: { type: 'string' },
        bucket: { type: 'string' },
        prefix: { type: 'string' },
        'dry-run': { type: 'boolean' },
        concurrency: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new InvalidInputError((error as Error).message.split('\n')[0] ?? 'bad arguments');
  }

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

  const concurrency = values.concurrency ?? '8';
  if (!/^\d+$/.test(concurrency) || Number(concurrency) < 1 || Number(concurrency) > 64) {
    throw new InvalidInputError(`--concurrency must be a whole number from 1 to 64, got "${concurrency}"`);
  }
  return {
    target,
    destination: parseLakeDestination(values),
    dryRun: values['dry-run'] ?? false,
    concurrency: Number(concurrency),
  };
}
