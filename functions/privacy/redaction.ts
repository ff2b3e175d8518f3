import * as z from '#shared/zod-mini.ts';
import { MASK_KINDS, type MaskKind, maskText } from './text-masks.ts';

/**
 * The `redact` setting (cdk.json `redact`, CLI `--redact` / `--redact-field`): what is never
 * stored. `fields` are dropped from every record (dotted paths; a path through an array applies
 * to each element, e.g. `visitor.ip`, `visitor_ip`, `thread.customer_visit.ip`); `mask` picks
 * the kinds masked in the free-text fields below. Unset: everything is kept, as the API sent it.
 * The Glue schema does not change: a dropped field reads as NULL, a masked text is still text.
 */
export const FIELD_PATH = /^[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*$/;

export const redactionSchema = z.strictObject({
  fields: z.optional(z.array(z.string().check(z.regex(FIELD_PATH, 'a dotted field path such as visitor.ip')))),
  mask: z.optional(z.array(z.enum(MASK_KINDS))),
});
export type RedactionConfig = z.infer<typeof redactionSchema>;

/**
 * Free-text fields, where visitors type whatever they like: v2 messages and events, pre-chat and
 * post-chat answers, custom and integration variable values, a missed chat's left message and
 * e-mail; v3.6 message text, form answers and thread summaries. Paths missing from a record are skipped.
 */
export const FREE_TEXT_FIELDS = [
  'messages.text',
  'events.text',
  'prechat_survey.value',
  'postchat_survey.value',
  'custom_variables.value',
  'integration_variables.value',
  'message',
  'email',
  'thread.events.text',
  'thread.events.fields.answer',
  'thread.events.fields.answers.label',
  'thread.summary.text',
] as const;

export interface Redaction {
  /** True when a rule applies: records are then copied and redacted, else stored as they are. */
  readonly active: boolean;
  redact<T extends object>(record: T): T;
}

export function redaction(config: RedactionConfig = {}): Redaction {
  const fields = (config.fields ?? []).map((path) => path.split('.'));
  const kinds = new Set<MaskKind>(config.mask ?? []);
  const texts = FREE_TEXT_FIELDS.map((path) => path.split('.'));
  const active = fields.length > 0 || kinds.size > 0;
  return {
    active,
    redact<T extends object>(record: T): T {
      if (!active) return record;
      const copy = structuredClone(record) as Record<string, unknown>;
      for (const path of fields) dropPath(copy, path);
      if (kinds.size > 0) for (const path of texts) mapStrings(copy, path, (text) => maskText(text, kinds));
      return copy as T;
    },
  };
}

function dropPath(value: unknown, path: readonly string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) dropPath(item, path);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const [head, ...rest] = path;
  const object = value as Record<string, unknown>;
  if (head === undefined || !(head in object)) return;
  if (rest.length === 0) delete object[head];
  else dropPath(object[head], rest);
}

/** Replaces the strings at `path` (through arrays; a string array at the end counts too). */
function mapStrings(value: unknown, path: readonly string[], map: (text: string) => string): void {
  if (Array.isArray(value)) {
    for (const item of value) mapStrings(item, path, map);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const [head, ...rest] = path;
  const object = value as Record<string, unknown>;
  if (head === undefined || !(head in object)) return;
  const child = object[head];
  if (rest.length > 0) mapStrings(child, rest, map);
  else if (typeof child === 'string') object[head] = map(child);
  else if (Array.isArray(child)) object[head] = child.map((item) => (typeof item === 'string' ? map(item) : item));
}
