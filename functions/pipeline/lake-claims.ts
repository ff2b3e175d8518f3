import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import { checkLakeFilters, recordLakeFilters } from './lake-filters.ts';
import { checkLakeTimeZone, recordLakeTimeZone } from './lake-time-zone.ts';

/** What a local run must agree with in the lake (time zone, filters), and when it may write. */
export interface LakeClaims {
  /** True once the lake records this run's zone and filters: it held them already, or `record` wrote them. */
  readonly recorded: boolean;
  /** Records what the lake lacks, once however often it is called; every call waits for it. */
  record(): Promise<void>;
}

/**
 * Checks the lake's zone and filters before a run starts (a mismatch is refused, nothing
 * written) and leaves recording them to `record`, which the run calls after its first
 * successful LiveChat response: a first run that never reaches LiveChat (wrong token, URL or
 * region) leaves the lake as it was, so the next, corrected run may still choose its zone.
 */
export async function checkLakeClaims(
  sink: LakeSink,
  filters: ChatFilters,
  timeZone: string,
  runId: string,
): Promise<LakeClaims> {
  const filtersRecorded = await checkLakeFilters(sink, filters);
  const zoneRecorded = await checkLakeTimeZone(sink, timeZone);
  let recorded = filtersRecorded && zoneRecorded;
  let recording: Promise<void> | undefined = recorded ? Promise.resolve() : undefined;
  return {
    get recorded() {
      return recorded;
    },
    record() {
      recording ??= (async () => {
        if (!filtersRecorded) await recordLakeFilters(sink, filters, runId);
        if (!zoneRecorded) await recordLakeTimeZone(sink, timeZone, runId);
        recorded = true;
      })();
      return recording;
    },
  };
}
