/**
 * What the HTML report shows, in the order a support lead reads it: the headline figures against
 * the previous period, the team, the customers, then the archive's health. Aggregates only (never a raw chat), so a year of a busy account
 * stays a few hundred kilobytes. Built by lake-aggregates.ts (DuckDB) and run-manifests.ts,
 * rendered by report-html.ts.
 */
import type { FileStatus } from '#shared/file-refs.ts';

/** How a day compares with what the archiver planned for it. */
export type DayCompleteness =
  /** The lake holds exactly the chats the day's latest plan expected, each once. */
  | 'complete'
  /** The lake holds fewer chats than the latest plan expected (a page file lost, or a failed run). */
  | 'short'
  /** The latest run reported the day incomplete, failed or interrupted. */
  | 'incomplete'
  /** Chats are in the lake but no day plan or run manifest covers the day (written before plans were kept). */
  | 'unplanned'
  /** No chat, no day plan and no run for this day: a gap in the archive (a night that never ran). */
  | 'not_archived'
  /** Its chat files were removed by retention (`npm run prune`, or the bucket's retentionDays): not incomplete. */
  | 'expired (retention)'
  /** Every planned chat is there, some more than once (rows beyond one per chat id). */
  | 'duplicates'
  /** More distinct chats than the latest plan expected. */
  | 'extra'
  /** Every chat there, some of them only in the archive: LiveChat no longer returns them (retention). */
  | 'kept';

/** Days that need a look: all but complete days, kept days (every chat there) and days retention emptied on purpose. */
export function needsAttention(status: DayCompleteness): boolean {
  return status !== 'complete' && status !== 'kept' && status !== 'expired (retention)';
}

export interface CompletenessDay {
  day: string;
  /** The `total` of the day's latest plan; null when no day plan or run manifest covers it. */
  expected: number | null;
  /** Distinct chat ids in the day's partition. */
  archived: number;
  /** Rows beyond the first copy of each chat (re-archives). */
  duplicates: number;
  status: DayCompleteness;
  /** Run that archived the day last, when known. */
  runId: string | null;
  problem: string | null;
}

export interface DailyChats {
  day: string;
  total: number;
  regular: number;
  missed: number;
  /** Among regular chats (missed chats cannot be rated). */
  ratedGood: number;
  ratedBad: number;
  notRated: number;
  /** Regular chats with an agent answer after the visitor's first message. */
  withResponse: number;
  firstResponseP50: number | null;
  firstResponseP90: number | null;
  /** Regular chats with a duration. */
  withDuration: number;
  durationP50: number | null;
  durationP90: number | null;
}

export interface HeatmapCell {
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** Hour of the chat's start, in the report's time zone. */
  hour: number;
  chats: number;
}

/** The headline figures of a set of chats (a period, an agent's, a group's). */
export interface Figures {
  chats: number;
  regular: number;
  missed: number;
  /** Among regular chats (missed chats cannot be rated). */
  ratedGood: number;
  ratedBad: number;
  /** Regular chats with an agent answer after the visitor's first message. */
  withResponse: number;
  firstResponseP50: number | null;
  firstResponseP90: number | null;
  durationP50: number | null;
}

/** An agent's chats (a transferred chat counts for every agent in it), this period and the previous one. */
export interface AgentRow {
  email: string;
  name: string;
  current: Figures;
  /** null when the previous period is not archived; zero figures when the agent had no chat in it. */
  previous: Figures | null;
}

export interface GroupRow {
  group: number;
  current: Figures;
  previous: Figures | null;
}

/** One question of the post-chat survey or the pre-chat form, with how its answers are spread. */
export interface SurveyQuestion {
  form: 'postchat' | 'prechat';
  question: string;
  /** Chats that answered it (non-empty answer). */
  answered: number;
  /** Distinct answers. */
  distinct: number;
  /** The answer distribution when the answers are choices; null for free text (never shown). */
  answers: NamedCount[] | null;
}

/** The period the report compares with: as long as the report's range, right before it. */
export interface PreviousPeriod {
  from: string;
  to: string;
  days: number;
  /** Days of it the lake holds (chats, a day plan or a run manifest); 0: not archived. */
  daysArchived: number;
}

export interface AgentChats {
  email: string;
  name: string;
  chats: number;
}

export interface NamedCount {
  name: string;
  chats: number;
}

export interface RunSummary {
  runId: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Days of the run inside the report's range (null when the run has no manifest). */
  days: number | null;
  daysComplete: number | null;
  pages: number | null;
  chatsWritten: number | null;
  retries: number | null;
  drift: number | null;
  complete: boolean | null;
  /** Rows of this run still in the lake's partitions of the range. */
  rowsInLake: number;
}

export interface ReportData {
  lake: string;
  generatedAt: string;
  from: string;
  to: string;
  /** How the range was chosen: `--last 7d` etc., or null for --from/--to or the whole lake. */
  rangeLabel: string | null;
  /** The period before, of equal length; null when the range is unknown (empty lake). */
  previous: PreviousPeriod | null;
  headline: { current: Figures; previous: Figures | null };
  /** IANA zone of the partition days (dt) and of the weekday × hour cells: the one the runs cut days in. */
  timeZone: string;
  /** The lake's chat filters (manifests/filters/), e.g. `type=missed_chat`; absent for an unfiltered lake. */
  filters?: string;
  totals: { chats: number; regular: number; missed: number; agents: number; daysWithChats: number };
  completeness: CompletenessDay[];
  daily: DailyChats[];
  heatmap: HeatmapCell[];
  /** Missed chats by weekday and hour of their start: when nobody was there. */
  missedHeatmap: HeatmapCell[];
  agents: AgentRow[];
  groups: GroupRow[];
  surveys: SurveyQuestion[];
  /** Present only when the lake schema has a `tags` column. */
  tags?: NamedCount[];
  /** Present only when the lake schema has a visitor country column. */
  countries?: NamedCount[];
  runs: RunSummary[];
  /** Attachments per day and status (functions/report/attachments-section.ts); absent when the range has none. */
  files?: FilesDay[];
  /** Things the reader should know about the inputs (e.g. a manifest that could not be read). */
  notes: string[];
}

/** Attachments of one day by status (table chat_files), for the report's attachments section. */
export interface FilesDay {
  day: string;
  counts: Record<FileStatus, number>;
  bytesStored: number;
}
