import { createHash } from 'node:crypto';
import {
  ARCHIVES_PREFIX,
  CHATS_PREFIX,
  FILTERS_RECORD_PREFIX,
  TIME_ZONE_RECORD_PREFIX,
  UNFILTERED_RECORD_KEY,
} from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import type { ChatFilters } from '#shared/chat-filters.ts';
import { InvalidInputError } from '#shared/errors.ts';

/**
 * A lake holds the chats of one filter set. A filtered pass over a day of an unfiltered lake (or
 * one with other filters) would hold only some of the day's chats, and the lake's counts would mix
 * two meanings. So the first run records its filters under `manifests/filters/`, as it records its
 * time zone, and every later run (locally before it starts, on AWS in each day task) must use the
 * same set or is refused before anything is written. A lake written before filters were recorded
 * holds the chats of unfiltered runs: a filtered run into it is refused.
 */
export async function claimLakeFilters(sink: LakeSink, filters: ChatFilters, runId: string): Promise<void> {
  if (!(await checkLakeFilters(sink, filters))) await recordLakeFilters(sink, filters, runId);
}

/** Refuses a run with other filters than the lake's; true when the lake already records its filters. */
export async function checkLakeFilters(sink: LakeSink, filters: ChatFilters): Promise<boolean> {
  const wanted = filtersRecordKey(filters);
  const recorded = await sink.list(FILTERS_RECORD_PREFIX);
  const other = recorded.find((key) => key !== wanted);
  if (other !== undefined) throw await refusal(sink, other, filters);
  if (recorded.length > 0) return true;
  if (!isUnfiltered(filters) && (await holdsChatsAlready(sink))) {
    throw refusalOf(sink, 'unfiltered (it holds chats from before filters were recorded)', filters);
  }
  return false;
}

/** The first run's record of the lake's filters; refuses if another first run recorded others at the same time. */
export async function recordLakeFilters(sink: LakeSink, filters: ChatFilters, runId: string): Promise<void> {
  const wanted = filtersRecordKey(filters);
  const record = { filters: describeFilters(filters), recordedBy: runId };
  await sink.putIfAbsent(wanted, Buffer.from(`${JSON.stringify(record)}\n`), 'json');
  // Two first runs with different filters at once: both see the other's record and stop.
  const now = await sink.list(FILTERS_RECORD_PREFIX);
  const raced = now.find((key) => key !== wanted);
  if (raced !== undefined) throw await refusal(sink, raced, filters);
}

/** The filters a lake records as describeFilters spells them (`unfiltered`), or undefined when it records none. */
export async function lakeFilters(sink: LakeSink): Promise<string | undefined> {
  const [key] = await sink.list(FILTERS_RECORD_PREFIX);
  return key === undefined ? undefined : ((await readRecord(sink, key)) ?? 'filtered');
}

/**
 * `group=2&type=missed_chat` (names in alphabetical order), or `unfiltered`. A visitor id is not
 * spelled out (manifests never hold one): `visitor_id=sha256:<first 12 hex digits>`.
 */
export function describeFilters(filters: ChatFilters): string {
  const parts = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${name === 'visitor_id' ? hidden(String(value)) : String(value)}`);
  return parts.length === 0 ? 'unfiltered' : parts.join('&');
}

const hidden = (value: string) => `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;

/** The lake's filter set as the day plans and `day_completeness` carry it: undefined when unfiltered. */
export function filtersColumn(filters: ChatFilters): string | undefined {
  return isUnfiltered(filters) ? undefined : describeFilters(filters);
}

export function filtersRecordKey(filters: ChatFilters): string {
  if (isUnfiltered(filters)) return UNFILTERED_RECORD_KEY;
  const hash = createHash('sha256').update(describeFilters(filters)).digest('hex').slice(0, 16);
  return `${FILTERS_RECORD_PREFIX}filtered-${hash}.json`;
}

const isUnfiltered = (filters: ChatFilters) => describeFilters(filters) === 'unfiltered';

async function holdsChatsAlready(sink: LakeSink): Promise<boolean> {
  for (const prefix of [TIME_ZONE_RECORD_PREFIX, CHATS_PREFIX, ARCHIVES_PREFIX]) {
    if ((await sink.list(prefix)).length > 0) return true;
  }
  return false;
}

async function readRecord(sink: LakeSink, key: string): Promise<string | undefined> {
  if (key === UNFILTERED_RECORD_KEY) return 'unfiltered';
  const body = await sink.get(key);
  if (!body) return undefined;
  try {
    const { filters } = JSON.parse(Buffer.from(body).toString('utf8')) as { filters?: unknown };
    return typeof filters === 'string' ? filters : undefined;
  } catch {
    return undefined;
  }
}

async function refusal(sink: LakeSink, key: string, filters: ChatFilters): Promise<InvalidInputError> {
  return refusalOf(sink, `${(await readRecord(sink, key)) ?? 'filtered'} (${key})`, filters);
}

function refusalOf(sink: LakeSink, lake: string, filters: ChatFilters): InvalidInputError {
  return new InvalidInputError(
    `the lake ${sink.location} is ${lake}, this run is ${describeFilters(filters)}: a lake holds the chats of one ` +
      "filter set, and a pass with other filters would mix them in its days; archive with the lake's filters, or " +
      'into a separate lake (--out DIR, or --bucket NAME --prefix P)',
  );
}
