import { z } from 'zod';

/** The optional filters of `GET /chats` other than dates and page (seed document). */
export const chatFiltersSchema = z
  .object({
    type: z.enum(['chat', 'missed_chat']),
    visitor_id: z.string().min(1),
    query: z.string().min(1),
    agent: z.string().min(1),
    group: z.number().int().nonnegative(),
    goal: z.number().int().nonnegative(),
    has_goal: z.union([z.literal(0), z.literal(1)]),
    rate: z.enum(['rated', 'not_rated', 'rated_good', 'rated_bad']),
  })
  .partial()
  .strict();

export type ChatFilters = z.infer<typeof chatFiltersSchema>;

export function filtersToSearchParams(filters: ChatFilters): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(filters)) {
    if (value !== undefined) params[name] = String(value);
  }
  return params;
}
