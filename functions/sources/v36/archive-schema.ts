import * as z from '#shared/zod-mini.ts';

/**
 * Agent Chat Web API v3.6 `list_archives` responses, checked only as far as the archiver relies
 * on them (see list-archives-client.ts for the sources): the envelope and cursor, the ids and
 * times that keys, slices and the `chats` mapping read, and the types of the few fields the
 * mapping copies into typed `chats` columns. Every object is loose and every other field passes
 * through untouched (the raw `chat_threads` record keeps it): rich messages, files, custom
 * events, `answers` of checkbox fields, deleted-event stubs, fields LiveChat adds later.
 *
 * A body that parses but fails this schema is not retried: it fails at once with the JSON path
 * and what was expected there (retrying-api.ts).
 */
const text = () => z.string().check(z.minLength(1));
/** RFC 3339 with up to microseconds, as every v3.6 `created_at`. */
const time = () => z.iso.datetime({ offset: true, local: false });

export const archiveUserSchema = z.looseObject({
  id: text(),
  type: z.optional(z.string()),
  name: z.optional(z.string()),
  email: z.optional(z.string()),
  /** Customers only: `[{"key": "value"}, ...]`. */
  session_fields: z.optional(z.array(z.record(z.string(), z.unknown()))),
});

export const archiveEventSchema = z.looseObject({
  type: z.string(),
  created_at: time(),
  author_id: z.optional(z.string()),
  text: z.optional(z.string()),
  form_type: z.optional(z.string()),
  deleted: z.optional(z.boolean()),
  /** filled_form: `answer` (a string or `{id, label, group_id?}`) or `answers` (checkbox: `[{id, label}]`). */
  fields: z.optional(
    z.array(
      z.looseObject({ id: z.optional(z.string()), label: z.optional(z.string()), answer: z.optional(z.unknown()) }),
    ),
  ),
});

const accessSchema = z.looseObject({ group_ids: z.optional(z.array(z.int())) });

export const archiveThreadSchema = z.looseObject({
  id: text(),
  user_ids: z.optional(z.array(z.string())),
  /** Absent when `restricted_access` says why. */
  events: z.optional(z.array(archiveEventSchema)),
  /** `{namespace: {name: value}}`; the mapping reads `rating.score` and tolerates anything else. */
  properties: z.optional(z.record(z.string(), z.unknown())),
  access: z.optional(accessSchema),
  created_at: time(),
});

/** One list_archives entry: a chat together with ONE of its threads (1 entry per thread). */
export const archiveSchema = z.looseObject({
  id: text(),
  users: z.optional(z.array(archiveUserSchema)),
  thread: archiveThreadSchema,
  access: z.optional(accessSchema),
});

export const archivesPageSchema = z.looseObject({
  chats: z.array(archiveSchema),
  /** "An estimated number", per the docs. */
  found_chats: z.int().check(z.nonnegative()),
  /** Omitted on the last page, per the docs; `null` is taken as the end too (some clients and proxies send it). */
  next_page_id: z.nullish(text()),
  previous_page_id: z.nullish(text()),
});

export type Archive = z.infer<typeof archiveSchema>;
export type ArchiveEvent = z.infer<typeof archiveEventSchema>;
export type ArchiveUser = z.infer<typeof archiveUserSchema>;
export type ArchivesPage = z.infer<typeof archivesPageSchema>;

/** `list_archives` answers at most this many chats per page (docs: limit min 1, max 100). */
export const MAX_ARCHIVES_LIMIT = 100;
