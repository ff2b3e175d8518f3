import type { Chat } from '#simulator/synthetic-chats.ts';
import type { V36Archive } from '#simulator/v36-archives.ts';

/** A file a served chat points to: the chat (v2) or thread (v3.6) it belongs to, and its URL. */
export interface AttachmentRef {
  owner: string;
  url: string;
}

/** The files of v2 chats as the simulator serves them: every URL of their `attachment` events' `files`. */
export function v2AttachmentRefs(chats: readonly Chat[]): AttachmentRef[] {
  return chats.flatMap((chat) =>
    ((chat['events'] as Array<Record<string, unknown>> | undefined) ?? [])
      .filter((event) => event['type'] === 'attachment')
      .flatMap((event) => (event['files'] as string[]).map((url) => ({ owner: chat.id, url }))),
  );
}

/** The files of v3.6 archives as the simulator serves them: the `url` of their threads' `file` events. */
export function v36AttachmentRefs(archives: readonly V36Archive[]): AttachmentRef[] {
  return archives.flatMap((archive) =>
    (archive.thread['events'] as Array<Record<string, unknown>>)
      .filter((event) => event['type'] === 'file')
      .map((event) => ({ owner: archive.thread.id, url: String(event['url']) })),
  );
}
