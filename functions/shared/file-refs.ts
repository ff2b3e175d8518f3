import * as z from './zod-mini.ts';

/**
 * A file a chat points to (LiveChat attachments): v2 `attachment` events list URLs only; v3.6
 * `file` events carry `id`, `name`, `url`, `content_type` and, for images only, `size`. The
 * source extracts refs from a settled day's chats; a `files` task archives a batch of them.
 */
export const fileRefSchema = z.strictObject({
  /** v2: the chat id; v3.6: the chat id (`C…`) that holds the thread. */
  chatId: z.string().check(z.minLength(1), z.maxLength(128)),
  /** v3.6 only. */
  threadId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  /** v3.6 only: the `file` event's id. */
  eventId: z.optional(z.string().check(z.maxLength(256))),
  url: z.string().check(z.minLength(1), z.maxLength(8192)),
  name: z.optional(z.string().check(z.maxLength(1024))),
  contentType: z.optional(z.string().check(z.maxLength(256))),
  /** Documented size in bytes (v3.6 images only). */
  size: z.optional(z.int().check(z.nonnegative())),
});

export type FileRef = z.infer<typeof fileRefSchema>;

/**
 * `stored`: the bytes are in the lake; `gone`: the host answered 404/410; `too_large`: above the
 * cap (not stored, not downloaded past it); `refused_host`: the URL (or a redirect) is on a host
 * outside the allowlist, never requested; `failed`: other errors, after retries.
 */
export const FILE_STATUSES = ['stored', 'gone', 'too_large', 'refused_host', 'failed'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** Files by status, and the bytes stored (this run's downloads and files already in the lake). */
export type FileCounts = Record<FileStatus, number> & { bytes: number; downloaded: number };

export function emptyFileCounts(): FileCounts {
  return { stored: 0, gone: 0, too_large: 0, refused_host: 0, failed: 0, bytes: 0, downloaded: 0 };
}

export function addFileCounts(into: FileCounts, more: FileCounts): FileCounts {
  for (const key of [...FILE_STATUSES, 'bytes', 'downloaded'] as const) into[key] += more[key];
  return into;
}

export function totalFiles(counts: FileCounts): number {
  return FILE_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}

/** The chats-table id a file belongs to (v2 chat id, v3.6 thread id): its folder in the lake. */
export function ownerOf(ref: FileRef): string {
  return ref.threadId ?? ref.chatId;
}

/** What fetching one URL gave: the bytes, or why there are none. */
export type FetchedFile =
  | {
      status: 'stored';
      body: Uint8Array;
      sha256: string;
      contentType?: string;
      httpStatus: number;
      /** The URL the bytes came from, after redirects within the allowlist. */
      finalUrl: string;
    }
  | {
      status: Exclude<FileStatus, 'stored'>;
      httpStatus?: number;
      /** Bytes the host announced (Content-Length), when it did. */
      size?: number;
      detail: string;
    };

/** Fetches one file URL safely (functions/sources/attachments/safe-file-fetcher.ts). */
export interface FileFetcher {
  fetch(url: string): Promise<FetchedFile>;
}
