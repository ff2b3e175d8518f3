import { removePagesBeyond } from '#lake/day-partition.ts';
import type { PageTask } from '#shared/archive-task.ts';
import type { ArchiveSource, SourceContext, UnitOutcome } from '#sources/archive-source.ts';
import { planDay } from './day-planner.ts';
import type { LivechatClient } from './livechat-client.ts';
import { archivePage, type PageOutcome, writePage } from './page-archiver.ts';
import { V2_SOURCE } from './v2-source-info.ts';

/** REST API v2 `GET /chats`: a day is planned from page 1 and archived as one unit per page. */
export function v2Source(client: LivechatClient): ArchiveSource {
  const gated = (context: SourceContext): LivechatClient => {
    const { request } = context;
    return request ? { listChats: (query) => request(() => client.listChats(query)) } : client;
  };
  return {
    ...V2_SOURCE,
    async planDay(task, context) {
      const plan = await planDay(task, gated(context));
      const stale = await removePagesBeyond(context.sink, task.day, plan.pages);
      const [firstTask, ...laterTasks] = plan.pageTasks;
      return {
        total: plan.total,
        units: plan.pages,
        tasks: laterTasks,
        ...(firstTask
          ? {
              first: {
                task: firstTask,
                outcome: unitOutcome(firstTask, await writePage(firstTask, plan.firstPage, context)),
              },
            }
          : {}),
        staleRemoved: stale.length,
        record: { total: plan.total, pages: plan.pages },
      };
    },
    async runTask(task, context) {
      if (task.kind !== 'page') throw new Error(`the v2 source cannot run a ${task.kind} task`);
      return unitOutcome(task, await archivePage(task, { client: gated(context), ...context }));
    },
    async settleDay(day, written, context) {
      await removePagesBeyond(context.sink, day.day, written.units);
      return undefined;
    },
  };
}

function unitOutcome(task: PageTask, outcome: PageOutcome): UnitOutcome {
  if (outcome.status === 'drift') return outcome;
  return {
    status: 'written',
    written: {
      kind: 'page-written',
      day: task.day,
      page: task.page,
      chats: outcome.chats,
      dropped: outcome.dropped,
      bytes: outcome.bytes,
    },
    ids: outcome.ids,
  };
}
