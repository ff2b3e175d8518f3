import { runManifestKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';

export type DayStatus = 'complete' | 'incomplete' | 'failed' | 'interrupted';

export interface DayRecord {
  day: string;
  status: DayStatus;
  /** `total` of the attempt that was archived (the last one). */
  expectedTotal: number;
  pages: number;
  chatsWritten: number;
  /** Chats of erased visitors fetched and not written (manifests/erasures/). */
  chatsDropped: number;
  attempts: number;
  driftSeen: number;
  /** Why the day is not complete; absent when it is. */
  problem?: string;
  /** Chat fields the table has no column for (names only): written verbatim, the table should be extended. */
  unknownFields?: string[];
}

export interface RunManifest {
  runId: string;
  startedAt: string;
  finishedAt: string;
  lake: string;
  /** IANA zone the run cut its days in: `day` (and `dt`) is the local day there. */
  timeZone: string;
  filters: ChatFilters;
  complete: boolean;
  totals: {
    days: number;
    daysComplete: number;
    pages: number;
    chats: number;
    /** Chats of erased visitors dropped at write. */
    dropped: number;
    drift: number;
    retries: number;
  };
  /** Every day's `unknownFields`, once each, sorted. */
  unknownFields: string[];
  days: DayRecord[];
}

export function summarizeRun(
  base: Pick<RunManifest, 'runId' | 'startedAt' | 'finishedAt' | 'lake' | 'timeZone' | 'filters'>,
  days: DayRecord[],
  retries: number,
): RunManifest {
  const sorted = [...days].sort((a, b) => a.day.localeCompare(b.day));
  return {
    ...base,
    complete: sorted.every((day) => day.status === 'complete'),
    totals: {
      days: sorted.length,
      daysComplete: sorted.filter((day) => day.status === 'complete').length,
      pages: sorted.reduce((sum, day) => sum + day.pages, 0),
      chats: sorted.reduce((sum, day) => sum + day.chatsWritten, 0),
      dropped: sorted.reduce((sum, day) => sum + day.chatsDropped, 0),
      drift: sorted.reduce((sum, day) => sum + day.driftSeen, 0),
      retries,
    },
    unknownFields: [...new Set(sorted.flatMap((day) => day.unknownFields ?? []))].sort(),
    days: sorted,
  };
}

/** Stored beside the lake, under `manifests/`, never under `chats/` where Athena reads. */
export async function writeRunManifest(sink: LakeSink, manifest: RunManifest): Promise<string> {
  const key = runManifestKey(manifest.runId);
  await sink.put(key, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'json');
  return key;
}
