import * as z from '#shared/zod-mini.ts';

/**
 * The shape of Agent Chat Web API v3.6 `list_archives` responses as far as the archiver
 * relies on it (see list-archives-client.ts for the sources). Objects are loose: fields the
 * archiver does not map are tolerated, and only what the mapping reads is typed.
 */
export const archiveUserSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  type: z.string(),
  name: z.optional(z.string()),
  email: z.optional(z.string()),
  /** Customers only: `[{"key": "value"}, ...]`. */
  session_fields: z.optional(z.array(z.record(z.string(), z.unknown()))),
});

export const archiveEventSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  type: z.string(),
  created_at: z.string(),
  author_id: z.optional(z.string()),
  text: z.optional(z.string()),
  form_type: z.optional(z.string()),
  fields: z.optional(
    z.array(z.looseObject({ id: z.optional(z.string()), label: z.optional(z.string()), answer: z.unknown() })),
  ),
});

const accessSchema = z.looseObject({ group_ids: z.optional(z.array(z.int())) });

export const archiveThreadSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  active: z.optional(z.boolean()),
  user_ids: z.optional(z.array(z.string())),
  events: z.optional(z.array(archiveEventSchema)),
  properties: z.optional(z.record(z.string(), z.record(z.string(), z.unknown()))),
  access: z.optional(accessSchema),
  created_at: z.string(),
  tags: z.optional(z.array(z.string())),
});

/** One list_archives entry: a chat together with ONE of its threads (1 entry per thread). */
export const archiveSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  users: z._default(z.array(archiveUserSchema), []),
  thread: archiveThreadSchema,
  properties: z.optional(z.record(z.string(), z.record(z.string(), z.unknown()))),
  access: z.optional(accessSchema),
});

export const archivesPageSchema = z.looseObject({
  chats: z.array(archiveSchema),
  /** "An estimated number", per the docs. */
  found_chats: z.int().check(z.nonnegative()),
  next_page_id: z.optional(z.string().check(z.minLength(1))),
  previous_page_id: z.optional(z.string().check(z.minLength(1))),
});

export type Archive = z.infer<typeof archiveSchema>;
export type ArchiveEvent = z.infer<typeof archiveEventSchema>;
export type ArchiveUser = z.infer<typeof archiveUserSchema>;
export type ArchivesPage = z.infer<typeof archivesPageSchema>;

/** `list_archives` answers at most this many chats per page (docs: limit min 1, max 100). */
export const MAX_ARCHIVES_LIMIT = 100;
