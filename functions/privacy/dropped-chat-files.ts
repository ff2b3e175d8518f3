import { chatFileRowsPrefix, chatFilesFolder } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type FileRef, ownerOf } from '#shared/file-refs.ts';

/** Where a task's chats keep their attachments: the task's day, and the files one chat (as fetched) points to. */
export interface ChatFilesOfDay {
  day: string;
  refsOf(chat: Record<string, unknown>): FileRef[];
}

/**
 * Deletes what the lake still stores of chats a task dropped at write as an erased visitor's: their
 * files and `chat_files` rows in the task's day (files/, chat-files/; bytes first, then rows, as
 * erase deletes them). The erase removed them when it ran, but a files task that was under way then
 * may have written them afterwards and been killed before its own removal step; the next pass over
 * the day queues no files task for them, so without this nothing would remove them. Nothing is
 * listed unless a dropped chat points to a file. Returns how many objects were deleted.
 */
export async function removeFilesOfDroppedChats(
  sink: LakeSink,
  where: ChatFilesOfDay,
  chats: readonly object[],
): Promise<number> {
  const owners = new Set(chats.flatMap((chat) => where.refsOf(chat as Record<string, unknown>).map(ownerOf)));
  let removed = 0;
  for (const owner of [...owners].sort()) {
    for (const prefix of [chatFilesFolder(where.day, owner), chatFileRowsPrefix(where.day, owner)]) {
      const keys = await sink.list(prefix);
      if (keys.length > 0) await sink.delete(keys);
      removed += keys.length;
    }
  }
  return removed;
}
