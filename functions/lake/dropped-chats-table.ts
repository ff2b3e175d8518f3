/**
 * The `dropped_chats` table (`manifests/dropped-chats/dt=…/…json`): chats of erased visitors a
 * day's archive does not hold, written when a pass drops them at write (`attempt` set) and when
 * an erase removes them from files a run wrote (`attempt` NULL). `day_completeness` subtracts
 * those of the day's latest plan from its expected chats. Same column shape as day_plans.
 */
import { type DayPlanColumn, manifestColumn } from './day-plan-table.ts';
import { DROPPED_CHATS_PREFIX } from './lake-layout.ts';

export const DROPPED_CHATS_TABLE = 'dropped_chats';
export { DROPPED_CHATS_PREFIX };

export const DROPPED_CHAT_COLUMNS: readonly DayPlanColumn[] = [
  manifestColumn(
    'runId',
    'string',
    'Archive run whose pass dropped the chats, or that wrote the file an erase rewrote',
  ),
  manifestColumn('day', 'string', 'Chat day (the same as dt)'),
  manifestColumn('attempt', 'int', 'Pass of the run that dropped them at write; NULL when an erase removed them'),
  manifestColumn('unit', 'string', "Page or slice of the pass (e.g. 'page-3'), or the file an erase rewrote"),
  manifestColumn('chats', 'int', 'Chats of erased visitors not stored'),
  manifestColumn('recordedAt', 'string', 'ISO-8601 UTC time of the write or the erase'),
];

export interface DroppedChatsRow {
  runId: string;
  day: string;
  attempt: number | null;
  unit: string;
  chats: number;
  recordedAt: string;
}
