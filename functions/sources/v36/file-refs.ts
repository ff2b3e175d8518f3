import type { FileRef } from '#shared/file-refs.ts';

/**
 * The files a stored `list_archives` entry (table `chat_threads`) points to: its thread's `file`
 * events, which always carry `id`, `name`, `url`, `content_type`, and `size` only for images
 * (Agent Chat API v3.6 data structures, "File"; payloads/messaging/v3.6/agent-chat-api/events/file.json).
 */
export function v36FileRefs(row: Record<string, unknown>): FileRef[] {
  const chatId = row['id'];
  const thread = row['thread'] as Record<string, unknown> | undefined;
  const threadId = thread?.['id'];
  const events = thread?.['events'];
  if (typeof chatId !== 'string' || typeof threadId !== 'string' || !Array.isArray(events)) return [];
  const refs: FileRef[] = [];
  for (const event of events as Array<Record<string, unknown> | null>) {
    if (event?.['type'] !== 'file' || typeof event['url'] !== 'string' || !event['url']) continue;
    const { id, name, content_type: contentType, size } = event;
    refs.push({
      chatId,
      threadId,
      ...(typeof id === 'string' ? { eventId: id } : {}),
      url: event['url'],
      ...(typeof name === 'string' ? { name } : {}),
      ...(typeof contentType === 'string' ? { contentType } : {}),
      ...(typeof size === 'number' && Number.isInteger(size) && size >= 0 ? { size } : {}),
    });
  }
  return refs;
}
