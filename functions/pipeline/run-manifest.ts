import { runManifestKey } from '#lake/lake-layout.ts';
import type { Mistyped } from '#lake/mistyped-values.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import { addFileCounts, emptyFileCounts, type FileCounts } from '#shared/file-refs.ts';

/**
 * `complete`: every chat LiveChat returns for the day is in the lake, and nothing more.
 * `kept`: the same, and the lake also keeps chats of earlier runs LiveChat no longer returns
 * (`chatsKept`: retention emptied the day, or it answers without a transcript); the day is done,
 * but the API's count alone would not describe it (day_completeness says `kept` too).
 * `in-progress`: every planned unit written, but the day has not ended in the run's zone (today).
 */
export type DayStatus = 'complete' | 'kept' | 'in-progress' | 'incomplete' | 'failed' | 'interrupted';

/** Done with nothing missing: `complete` or `kept` (a rerun need not fetch it again). */
export const isDayDone = (status: DayStatus | string): boolean => status === 'complete' || status === 'kept';

export interface DayRecord {
  day: string;
  status: DayStatus;
  /** `total` of the attempt that was archived (the last one). */
  expectedTotal: number;
  /** Units (v2 pages, v3.6 slices) the last attempt planned. */
  pages: number;
  /** Units written in every attempt, re-archives included: the pages the progress line counts. */
  pagesWritten: number;
  chatsWritten: number;
  /** Chats of erased visitors fetched and not written (manifests/erasures/). */
  chatsDropped: number;
  /**
   * Chats the lake keeps for the day that the last pass did not return: LiveChat no longer lists
   * them (retention, a filtered or emptied day) or lists them without a transcript. Never deleted.
   */
  chatsKept: number;
  attempts: number;
  /** Drift detections (several units of one pass may each see the same drift). */
  driftSeen: number;
  /** Passes started again because of drift: the summary's "drift re-archives". */
  reArchives: number;
  /** Why the day is not complete; absent when it is. */
  problem?: string;
  /** Chat fields the table has no column for (names only): written verbatim, the table should be extended. */
  unknownFields?: string[];
  /** Values that do not fit their column's type (type drift): kept in `_mistyped`, how many and where. */
  mistyped?: Mistyped;
  /** Attachments on: the files the day's chats point to, by status (table chat_files has one row each). */
  files?: FileCounts;
}

export interface RunManifest {
  runId: string;
  startedAt: string;
  finishedAt: string;
  lake: string;
  /** IANA zone the run cut its days in: `day` (and `dt`) is the local day there. */
  timeZone: string;
  filters: ChatFilters;
  /** Every day is complete or kept, or in progress (today, archived as far as it has gone). */
  complete: boolean;
  /** Stopped by Ctrl-C / SIGINT before every day finished; the same command again resumes it. */
  interrupted?: boolean;
  /** Days taken as done from an interrupted run and not fetched again (not in `days` or `totals`). */
  resumed?: { runId: string; days: string[] };
  totals: {
    days: number;
    /** Days `complete`: the lake holds exactly what LiveChat returns. */
    daysComplete: number;
    /** Days `kept`: every chat LiveChat returns, plus chats it no longer returns (never deleted). */
    daysKept: number;
    /** Pages (v3.6: slices) written, re-archives included. */
    pages: number;
    chats: number;
    /** Chats of erased visitors dropped at write. */
    dropped: number;
    /** Chats kept that LiveChat no longer returned (DayRecord.chatsKept). */
    kept: number;
    /** Drift re-archives: passes started again. */
    drift: number;
    retries: number;
    /** Values set aside in `_mistyped` because they do not fit their column's type (type drift). */
    schemaViolations: number;
    /** Attachments on: every day's files by status. */
    files?: FileCounts;
  };
  /** Every day's `unknownFields`, once each, sorted. */
  unknownFields: string[];
  /** Every day's mistyped field paths, once each, sorted. */
  mistypedFields: string[];
  days: DayRecord[];
}

export function summarizeRun(
  base: Pick<
    RunManifest,
    'runId' | 'startedAt' | 'finishedAt' | 'lake' | 'timeZone' | 'filters' | 'interrupted' | 'resumed'
  >,
  days: DayRecord[],
  retries: number,
): RunManifest {
  const sorted = [...days].sort((a, b) => a.day.localeCompare(b.day));
  return {
    ...base,
    complete: sorted.every((day) => isDayDone(day.status) || day.status === 'in-progress'),
    totals: {
      days: sorted.length,
      daysComplete: sorted.filter((day) => day.status === 'complete').length,
      daysKept: sorted.filter((day) => day.status === 'kept').length,
      pages: sorted.reduce((sum, day) => sum + day.pagesWritten, 0),
      chats: sorted.reduce((sum, day) => sum + day.chatsWritten, 0),
      dropped: sorted.reduce((sum, day) => sum + day.chatsDropped, 0),
      kept: sorted.reduce((sum, day) => sum + (day.chatsKept ?? 0), 0),
      drift: sorted.reduce((sum, day) => sum + day.reArchives, 0),
      retries,
      schemaViolations: sorted.reduce((sum, day) => sum + (day.mistyped?.values ?? 0), 0),
      ...(sorted.some((day) => day.files)
        ? { files: sorted.reduce((sum, day) => (day.files ? addFileCounts(sum, day.files) : sum), emptyFileCounts()) }
        : {}),
    },
    unknownFields: [...new Set(sorted.flatMap((day) => day.unknownFields ?? []))].sort(),
    mistypedFields: [...new Set(sorted.flatMap((day) => day.mistyped?.fields ?? []))].sort(),
    days: sorted,
  };
}

/** Stored beside the lake, under `manifests/`, never under `chats/` where Athena reads. */
export async function writeRunManifest(sink: LakeSink, manifest: RunManifest): Promise<string> {
  const key = runManifestKey(manifest.runId);
  await sink.put(key, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'json');
  return key;
}
