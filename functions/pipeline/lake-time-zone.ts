import { TIME_ZONE_RECORD_PREFIX, timeZoneOfRecord, timeZoneRecordKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { InvalidInputError } from '#shared/errors.ts';

/**
 * A lake is cut in one time zone. Archiving a day in another zone would not overwrite the
 * day's files with the same chats: chats near midnight would land in a second partition while
 * their first copy stays in the old one. So the first run records its zone under `manifests/`
 * and every later run (locally before it starts, on AWS in each day task) must use the same
 * zone or is refused. Lakes written before zones were recorded have no record: the first run
 * records its own zone.
 */
export async function claimLakeTimeZone(sink: LakeSink, timeZone: string, runId: string): Promise<void> {
  if (!(await checkLakeTimeZone(sink, timeZone))) await recordLakeTimeZone(sink, timeZone, runId);
}

/** Refuses a run in another zone than the lake's; true when the lake already records its zone. */
export async function checkLakeTimeZone(sink: LakeSink, timeZone: string): Promise<boolean> {
  const recorded = await recordedTimeZones(sink);
  const other = recorded.find((zone) => zone !== timeZone);
  if (other !== undefined) {
    throw new InvalidInputError(
      `the lake ${sink.location} has its days cut in time zone ${other} (${timeZoneRecordKey(other)}), this run would cut ` +
        `them in ${timeZone}: mixing zones puts chats near midnight into two partitions; run in ${other}, or into a new lake`,
    );
  }
  return recorded.length > 0;
}

/** The first run's record of the lake's zone (kept if one is there already). */
export async function recordLakeTimeZone(sink: LakeSink, timeZone: string, runId: string): Promise<void> {
  const record = { timeZone, recordedBy: runId };
  await sink.putIfAbsent(timeZoneRecordKey(timeZone), Buffer.from(`${JSON.stringify(record)}\n`), 'json');
}

export async function recordedTimeZones(sink: LakeSink): Promise<string[]> {
  const keys = await sink.list(TIME_ZONE_RECORD_PREFIX);
  return keys.map(timeZoneOfRecord).filter((zone): zone is string => zone !== undefined);
}
