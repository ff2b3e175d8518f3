import * as z from './zod-mini.ts';

const text = () => z.string().check(z.minLength(1));
const id = () => z.int().check(z.nonnegative());

/** The optional filters of `GET /chats` other than dates and page (seed document). */
export const chatFiltersSchema = z.partial(
  z.strictObject({
    type: z.enum(['chat', 'missed_chat']),
    visitor_id: text(),
    query: text(),
    agent: text(),
    group: id(),
    goal: id(),
    has_goal: z.union([z.literal(0), z.literal(1)]),
    rate: z.enum(['rated', 'not_rated', 'rated_good', 'rated_bad']),
  }),
);

export type ChatFilters = z.infer<typeof chatFiltersSchema>;

export function filtersToSearchParams(filters: ChatFilters): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(filters)) {
    if (value !== undefined) params[name] = String(value);
  }
  return params;
}
