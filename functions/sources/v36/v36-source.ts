import type { ArchiveSource, SourceContext } from '#sources/archive-source.ts';
import { archiveChat } from './chat-archiver.ts';
import type { ArchivesClient } from './list-archives-client.ts';
import { archiveSlice, countDay, planSlices, type V36Deps } from './slice-archiver.ts';
import { V36_SOURCE } from './v36-source-info.ts';

/** Slicing knobs (tests and benchmarks); production uses the defaults. */
export type V36Options = Pick<V36Deps, 'busyDayThreshold' | 'pageLimit' | 'maxCursorRestarts' | 'pagesPerTask'>;

/** Agent Chat Web API v3.6 `list_archives`: a day is planned into time slices, one unit each. */
export function v36Source(client: ArchivesClient, options: V36Options = {}): ArchiveSource {
  const deps = (context: SourceContext): V36Deps => {
    const { request } = context;
    const gated: ArchivesClient = request
      ? {
          listArchives: (query) => request(() => client.listArchives(query)),
          ...(client.getChat
            ? { getChat: (chatId, threadId) => request(() => client.getChat!(chatId, threadId)) }
            : {}),
        }
      : client;
    return {
      ...options,
      client: gated,
      sink: context.sink,
      now: context.now,
      privacy: context.privacy,
      ...(context.deadline !== undefined ? { deadline: context.deadline } : {}),
    };
  };
  return {
    ...V36_SOURCE,
    async planDay(task, planId, context) {
      const plan = await planSlices(task, planId, deps(context));
      return {
        total: plan.found,
        units: plan.sliceTasks.length,
        tasks: plan.sliceTasks,
        record: { source: 'v3.6', found: plan.found, slices: plan.sliceTasks.map((slice) => slice.slice) },
      };
    },
    async runTask(task, context) {
      if (task.kind !== 'slice') throw new Error(`the v3.6 source cannot run a ${task.kind} task`);
      const outcome = await archiveSlice(task, deps(context));
      if (outcome.status === 'drift') return outcome;
      const { restarts, ...counts } = outcome.step;
      const step = { ...counts, cursorRestarts: restarts };
      if (outcome.status === 'continued') {
        const nextPart = outcome.next.cursor?.part ?? 1;
        const progress = { kind: 'slice-continued', day: task.day, slice: task.slice, ...step, nextPart } as const;
        return { status: 'continued', progress, next: outcome.next };
      }
      return {
        status: 'written',
        written: {
          kind: 'slice-written',
          day: task.day,
          slice: task.slice,
          chats: outcome.chats,
          dropped: outcome.dropped,
          parts: outcome.parts,
          bytes: outcome.bytes,
          cursorRestarts: outcome.restarts,
          ...(task.cursor ? { step } : {}),
          ...(step.mistyped ? { mistyped: step.mistyped } : {}),
        },
        ids: outcome.ids,
      };
    },
    async runChatTask(task, context) {
      const { client: gated, sink, now, privacy } = deps(context);
      if (!gated.getChat) throw new Error('this v3.6 client cannot read a chat (get_chat)');
      return archiveChat(task, { getChat: gated.getChat, sink, now, privacy });
    },
    async checkPass(day, pass, context) {
      // A chat added to a slice that had already finished is drift too.
      const found = await countDay(day, deps(context));
      return found === pass.fetched ? undefined : `the day has ${found} chats, its slices read ${pass.fetched}`;
    },
  };
}
