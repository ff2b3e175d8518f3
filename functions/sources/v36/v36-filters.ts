import type { ChatFilters } from '#shared/chat-filters.ts';
import { InvalidInputError } from '#shared/errors.ts';
import type { ArchiveFilters } from './list-archives-client.ts';

/**
 * The run's filters (the v2 `GET /chats` vocabulary, shared by CLI flags, cdk.json and queue
 * messages) as list_archives filters. Only those with a documented v3.6 equivalent pass:
 * `query` → `query`, `group` → `group_ids`, `agent` → `agents.values`, `goal` →
 * `goals.values`, `has_goal` → `goals.exists`. `type`, `rate` and `visitor_id` have none
 * in list_archives and are refused rather than silently ignored.
 */
export function toArchiveFilters(filters: ChatFilters, from: string, to: string): ArchiveFilters {
  assertArchiveFilters(filters);
  const out: ArchiveFilters = { from, to };
  if (filters.query !== undefined) out.query = filters.query;
  if (filters.group !== undefined) out.group_ids = [filters.group];
  if (filters.agent !== undefined) out.agents = { values: [filters.agent] };
  if (filters.goal !== undefined) out.goals = { values: [filters.goal] };
  else if (filters.has_goal !== undefined) out.goals = { exists: filters.has_goal === 1 };
  return out;
}

/** Refuses filters list_archives cannot apply, so a run fails at planning, not task by task. */
export function assertArchiveFilters(filters: ChatFilters): void {
  const unsupported = (['type', 'rate', 'visitor_id'] as const).filter((name) => filters[name] !== undefined);
  if (unsupported.length) {
    throw new InvalidInputError(`filter(s) ${unsupported.join(', ')} have no list_archives (v3.6) equivalent`);
  }
}
