import type { DayTask, PageTask } from '#shared/archive-task.ts';
import type { LivechatClient } from './livechat-client.ts';
import { type ChatList, expectedPages, MAX_PAGES_PER_QUERY, MAX_RECORDS_PER_QUERY } from './livechat-schema.ts';

export interface DayPlan {
  day: string;
  attempt: number;
  total: number;
  pages: number;
  pageTasks: PageTask[];
  /** Page 1 as the planning request returned it: written from here (writePage), not fetched again. */
  firstPage: ChatList;
  /** Set when the day cannot be archived whole through v2 (above the 25 000-record cap): why. */
  incomplete?: string;
}

/**
 * Asks for page 1 of the day to learn `total` and `pages`, and plans one page task
 * per page. The caller writes page 1 from `firstPage` and queues tasks 2…n, so a day
 * costs as many requests as it has pages. The partition is the requested day, cut by
 * LiveChat in the task's zone (`timezone`), whatever timestamps chats carry.
 */
export async function planDay(task: DayTask, plan: string, client: LivechatClient): Promise<DayPlan> {
  const first = await client.listChats({
    dateFrom: task.day,
    dateTo: task.day,
    timeZone: task.timeZone,
    page: 1,
    filters: task.filters,
  });
  const total = first.total;
  // Trust the count of chats over the API's `pages` if they ever disagree.
  // Only the latest 25 000 chats of a query can be read: plan those, and say the day is not whole.
  const pages = Math.min(Math.max(expectedPages(total), total > 0 ? first.pages : 0), MAX_PAGES_PER_QUERY);
  const pageTasks: PageTask[] = [];
  for (let page = 1; page <= pages; page += 1) {
    pageTasks.push({
      v: task.v,
      kind: 'page',
      runId: task.runId,
      day: task.day,
      attempt: task.attempt,
      plan,
      filters: task.filters,
      timeZone: task.timeZone,
      page,
      pages,
      total,
    });
  }
  return {
    day: task.day,
    attempt: task.attempt,
    total,
    pages,
    pageTasks,
    firstPage: first,
    ...(total > MAX_RECORDS_PER_QUERY ? { incomplete: cappedDayProblem(total) } : {}),
  };
}

/** Why a day above the cap is incomplete, and what archives it. */
export function cappedDayProblem(total: number): string {
  const kept = MAX_RECORDS_PER_QUERY.toLocaleString('en-US');
  return (
    `the day has ${total.toLocaleString('en-US')} chats, but LiveChat REST API v2 returns at most the latest ${kept} ` +
    `of one query: only those were archived; --source v3.6 (time slices) can archive the whole day`
  );
}
