import type { FileRef } from '#shared/file-refs.ts';

/**
 * The files a stored v2 chat points to: each `attachment` event's `files` (URL strings only; no
 * name, type or size are documented: REST API v2 "Get list of chats" example,
 * src/pages/management/configuration-api/v2.0/index.mdx in livechat/livechat-public-docs).
 */
export function v2FileRefs(row: Record<string, unknown>): FileRef[] {
  const chatId = row['id'];
  const events = row['events'];
  if (typeof chatId !== 'string' || !Array.isArray(events)) return [];
  const refs: FileRef[] = [];
  for (const event of events as Array<Record<string, unknown> | null>) {
    if (event?.['type'] !== 'attachment' || !Array.isArray(event['files'])) continue;
    for (const url of event['files']) if (typeof url === 'string' && url) refs.push({ chatId, url });
  }
  return refs;
}
