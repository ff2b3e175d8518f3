import { normalizeEmail, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { InvalidInputError } from '#shared/errors.ts';
import * as z from '#shared/zod-mini.ts';
import { type LakeDestination, parseLakeDestination } from './lake-destination.ts';
import { integerFlag, parseFlags, stringFlags } from './parse-flags.ts';

export const ERASE_USAGE = `usage: npm run erase -- (--visitor-id ID | --email ADDRESS) (--out DIR | --bucket NAME [--prefix P])
         [--dry-run] [--concurrency N]
  or, so that npm does not echo the identifier: ERASE_EMAIL=ADDRESS (or ERASE_VISITOR_ID=ID) npm run erase -- --out DIR
S3: runs with your own AWS credentials (the archiver's roles cannot erase); see docs/privacy.md`;

export interface EraseArgs {
  target: VisitorIdentifier;
  destination: LakeDestination;
  dryRun: boolean;
  concurrency: number;
}

const emailSchema = z.email();

/** Parses and validates `npm run erase` arguments; any problem is one InvalidInputError line. */
export function parseEraseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): EraseArgs {
  const values = parseFlags(argv, {
    ...stringFlags('visitor-id', 'email', 'out', 'bucket', 'prefix', 'concurrency'),
    'dry-run': { type: 'boolean' },
  });

  // npm prints a script's command line before it runs: the environment keeps the identifier off the terminal.
  for (const [flag, variable] of [
    ['visitor-id', 'ERASE_VISITOR_ID'],
    ['email', 'ERASE_EMAIL'],
  ] as const) {
    if (values[flag] !== undefined && env[variable] !== undefined) {
      throw new InvalidInputError(`give either --${flag} or ${variable}, not both`);
    }
  }
  const visitorId = values['visitor-id'] ?? env.ERASE_VISITOR_ID;
  const email = values.email ?? env.ERASE_EMAIL;
  if (visitorId !== undefined && email !== undefined) {
    throw new InvalidInputError(
      'give either --visitor-id or --email (ERASE_VISITOR_ID or ERASE_EMAIL), not both (erase each separately)',
    );
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
    throw new InvalidInputError(
      'give the visitor to erase: --visitor-id ID or --email ADDRESS (or ERASE_VISITOR_ID / ERASE_EMAIL in the environment)',
    );
  }

  return {
    target,
    destination: parseLakeDestination(values),
    dryRun: values['dry-run'] ?? false,
    concurrency: integerFlag('concurrency', values.concurrency ?? '8', 1, 64),
  };
}
