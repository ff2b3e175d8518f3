import * as z from '#shared/zod-mini.ts';

/**
 * The shape of `GET /chats` (REST API v2) as far as the archiver relies on it.
 * A chat is kept verbatim: only `id` is required, every other field may be absent
 * (the API omits goals, custom_variables, integration_variables… when empty).
 */
const chatFields = {
  id: z.string().check(z.minLength(1)),
  type: z.optional(z.string()),
  started_timestamp: z.optional(z.number()),
  ended_timestamp: z.optional(z.number()),
};
const listFields = { total: z.int().check(z.nonnegative()), pages: z.int().check(z.nonnegative()) };

export const chatSchema = z.looseObject(chatFields);

export const chatListSchema = z.object({ chats: z.array(chatSchema), ...listFields });

/**
 * The same checks, with the same messages, for a body that is kept as the API sent it: a loose
 * object copies every field of every chat into zod's output, which a verbatim body never uses.
 */
export const chatListShapeSchema = z.object({ chats: z.array(z.object(chatFields)), ...listFields });

export type Chat = z.infer<typeof chatSchema>;
export type ChatList = z.infer<typeof chatListSchema>;

export const CHATS_PER_PAGE = 25;

/**
 * "The results are limited to the latest 25000 records on your LiveChat license, which gives
 * you exactly 1000 pages" (v2 reference, "Get list of chats"): a day above it cannot be read
 * whole through `GET /chats`.
 */
export const MAX_RECORDS_PER_QUERY = 25_000;
export const MAX_PAGES_PER_QUERY = MAX_RECORDS_PER_QUERY / CHATS_PER_PAGE;

/** Pages a day of `total` chats should have, whatever the API claims. */
export function expectedPages(total: number): number {
  return Math.ceil(total / CHATS_PER_PAGE);
}

/** How many chats page `page` of `total` must hold when the day has not changed. */
export function expectedChatsOnPage(page: number, total: number): number {
  return Math.max(0, Math.min(CHATS_PER_PAGE, total - (page - 1) * CHATS_PER_PAGE));
}
