import { InvalidInputError } from '#shared/errors.ts';
import * as z from '#shared/zod-mini.ts';
import type { PreparedDay } from './athena-compaction.ts';

const day = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/));
/** What the state machine hands a step: a day, or a month (`yyyy-MM`) compacted as one file. */
const unit = z.string().check(z.regex(/^\d{4}-\d{2}(-\d{2})?$/));

const prepared = z.object({
  day: unit,
  token: z.string().check(z.regex(/^[0-9a-f]{16}$/)),
  attempt: z.string().check(z.regex(/^[0-9a-f]{8}$/)),
  inputs: z.array(z.string()),
  erasures: z.string(),
  unloads: z.array(z.object({ table: z.string(), sql: z.string() })),
  keepFrom: z.optional(day),
});

const compactorEvent = z.union([
  z.object({ action: z.literal('plan') }),
  z.object({ action: z.literal('prepare'), day: unit }),
  z.object({ action: z.literal('commit'), prepared }),
]);

export type CompactorRequest =
  | { action: 'plan' }
  | { action: 'prepare'; day: string }
  | { action: 'commit'; prepared: PreparedDay };

/** The compaction state machine's input to the compactor function; `{}` (a run by hand) plans. */
export function parseCompactorEvent(event: unknown): CompactorRequest {
  const input = event && typeof event === 'object' && Object.keys(event).length > 0 ? event : { action: 'plan' };
  const parsed = compactorEvent.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError(
      `not a compactor request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data as CompactorRequest;
}
