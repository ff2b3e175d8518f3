import { z } from 'zod';

/**
 * The shape of Agent Chat Web API v3.6 `list_archives` responses as far as the archiver
 * relies on it (see list-archives-client.ts for the sources). Objects are loose: fields the
 * archiver does not map are tolerated, and only what the mapping reads is typed.
 */
export const archiveUserSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string(),
  name: z.string().optional(),
  email: z.string().optional(),
  /** Customers only: `[{"key": "value"}, ...]`. */
  session_fields: z.array(z.record(z.string(), z.unknown())).optional(),
});

export const archiveEventSchema = z.looseObject({
  id: z.string().min(1),
  type: z.string(),
  created_at: z.string(),
  author_id: z.string().optional(),
  text: z.string().optional(),
  form_type: z.string().optional(),
  fields: z.array(z.looseObject({ id: z.string().optional(), label: z.string().optional(), answer: z.unknown() })).optional(),
});

const accessSchema = z.looseObject({ group_ids: z.array(z.number().int()).optional() });

export const archiveThreadSchema = z.looseObject({
  id: z.string().min(1),
  active: z.boolean().optional(),
  user_ids: z.array(z.string()).optional(),
  events: z.array(archiveEventSchema).optional(),
  properties: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  access: accessSchema.optional(),
  created_at: z.string(),
  tags: z.array(z.string()).optional(),
});

/** One list_archives entry: a chat together with ONE of its threads (1 entry per thread). */
export const archiveSchema = z.looseObject({
  id: z.string().min(1),
  users: z.array(archiveUserSchema).default([]),
  thread: archiveThreadSchema,
  properties: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  access: accessSchema.optional(),
});

export const archivesPageSchema = z.looseObject({
  chats: z.array(archiveSchema),
  /** "An estimated number", per the docs. */
  found_chats: z.number().int().nonnegative(),
  next_page_id: z.string().min(1).optional(),
  previous_page_id: z.string().min(1).optional(),
});

export type Archive = z.infer<typeof archiveSchema>;
export type ArchiveEvent = z.infer<typeof archiveEventSchema>;
export type ArchiveUser = z.infer<typeof archiveUserSchema>;
export type ArchivesPage = z.infer<typeof archivesPageSchema>;

/** `list_archives` answers at most this many chats per page (docs: limit min 1, max 100). */
export const MAX_ARCHIVES_LIMIT = 100;
