import type { PageTask } from '#shared/archive-task.ts';
import type { ArchiveSource, SourceContext, UnitOutcome } from '#sources/archive-source.ts';
import { planDay } from './day-planner.ts';
import type { LivechatClient } from './livechat-client.ts';
import { MAX_RECORDS_PER_QUERY } from './livechat-schema.ts';
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
    async planDay(task, planId, context) {
      const fetchedAt = context.now();
      const plan = await planDay(task, planId, gated(context));
      const [firstTask, ...laterTasks] = plan.pageTasks;
      const first = firstTask && {
        task: firstTask,
        outcome: unitOutcome(firstTask, await writePage(firstTask, plan.firstPage, { ...context, fetchedAt })),
      };
      return {
        total: plan.total,
        units: plan.pages,
        tasks: laterTasks,
        ...(first ? { first } : {}),
        record: { total: plan.total, pages: plan.pages, ...dayNotes(plan.incomplete, first?.outcome) },
        ...(plan.incomplete ? { incomplete: plan.incomplete } : {}),
      };
    },
    async runTask(task, context) {
      if (task.kind !== 'page') throw new Error(`the v2 source cannot run a ${task.kind} task`);
      return unitOutcome(task, await archivePage(task, { client: gated(context), ...context }));
    },
    async checkPass(_day, pass) {
      // Offset pages shift when a chat is removed and another added: the total stays, a chat is read twice and one never.
      const expected = Math.min(pass.total, MAX_RECORDS_PER_QUERY);
      return pass.fetched === expected
        ? undefined
        : `the pass read ${pass.fetched} distinct chats, the day has ${expected}`;
    },
  };
}

function unitOutcome(task: PageTask, outcome: PageOutcome): UnitOutcome {
  if (outcome.status === 'drift') return outcome;
  const { chats, bytes, unknownFields, mistyped } = outcome;
  return {
    status: 'written',
    written: {
      kind: 'page-written',
      day: task.day,
      page: task.page,
      chats,
      dropped: outcome.dropped,
      bytes,
      ...(unknownFields.length > 0 ? { unknownFields } : {}),
      ...(mistyped ? { mistyped } : {}),
    },
    ids: outcome.ids,
  };
}

/** What the day plan record adds: why the day is incomplete, and page 1's fields the table does not know. */
function dayNotes(incomplete: string | undefined, first: UnitOutcome | undefined): Record<string, unknown> {
  const unknownFields = first?.status === 'written' ? first.written.unknownFields : undefined;
  return { ...(incomplete ? { incomplete } : {}), ...(unknownFields ? { unknownFields } : {}) };
}
