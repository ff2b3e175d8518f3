/**
 * The settings that depend on how many chats a day the account has (`expectedChatsPerDay` in
 * cdk.json): each is a default, so a value set in cdk.json or with -c still wins. The figures
 * behind them are in docs/sizing.md and bench/RESULTS.md (the 50 000-chat day).
 */

/** REST API v2 returns at most the latest 25 000 records of one query, and the archiver asks for one day per query. */
export const V2_DAY_CAP = 25_000;

/**
 * Gzipped bytes one chat takes in the larger table a query may read a year of: `chats` at ~1.5 KB
 * (real chats, the issue's measurement), `chat_threads` (v3.6) ~1.32 times that (the simulator's
 * ratio of the two tables' settled files), so 2 KB.
 */
export const LAKE_BYTES_PER_CHAT = 2_000;

/**
 * Memory a day's settle task holds per chat: 10 KiB measured (bench/RESULTS.md, the 50 000-chat
 * day: +452 to +497 MiB over three runs for the simulator's chats, both v3.6 tables, rounded up) times 4.5, real chats' size over
 * the simulator's (1.5 KB against 0.33 KB gzipped).
 */
export const SETTLE_BYTES_PER_CHAT = 45 * 1024;
/** Lambda's largest memory: above ~150 000 chats a day a day's settling no longer fits (docs/sizing.md). */
export const MAX_WORKER_MEMORY_MB = 10_240;
const MIB = 1024 * 1024;

/** 256 MiB for the runtime and the rest of the task, plus the settle's rows with 30 % headroom, in steps of 128 MiB. */
function settleMemoryMb(chatsPerDay: number): number {
  const mib = 256 + (chatsPerDay * SETTLE_BYTES_PER_CHAT * 1.3) / MIB;
  return Math.min(MAX_WORKER_MEMORY_MB, Math.max(512, Math.ceil(mib / 128) * 128));
}

/** Headroom on a year's bytes, for growth and busy seasons. */
const SCAN_HEADROOM = 1.25;
const GB = 1_000_000_000;

export interface Sizing {
  /** v3.6: found_chats above which a day is cut into hour slices. */
  busyDayThreshold: number;
  /** v3.6: cursor pages one task reads at most. */
  slicePagesPerTask: number;
  workerTimeoutSeconds: number;
  workerMemoryMb: number;
  /** Athena per-query scan cutoff: a year of the lake at this volume, in whole GB. */
  bytesScannedCutoffBytes: number;
}

/** The volume-dependent defaults for `chatsPerDay`. */
export function sizingFor(chatsPerDay: number): Sizing {
  const yearBytes = chatsPerDay * 365 * LAKE_BYTES_PER_CHAT * SCAN_HEADROOM;
  return {
    // A day above it is cut by hour whatever the configured volume: 2 000 chats are 20 cursor pages.
    busyDayThreshold: 2_000,
    // An hour of a 50 000-chat day is ~21 pages: 10 per task keeps it to 3 tasks.
    slicePagesPerTask: chatsPerDay > 10_000 ? 10 : 5,
    // The settle task reads the whole day's partition (every file, one GET each) and writes it back merged.
    workerTimeoutSeconds:
      chatsPerDay <= 5_000 ? 60 : chatsPerDay <= V2_DAY_CAP ? 180 : chatsPerDay <= 100_000 ? 300 : 900,
    workerMemoryMb: settleMemoryMb(chatsPerDay),
    bytesScannedCutoffBytes: Math.max(1, Math.ceil(yearBytes / GB)) * GB,
  };
}

/** The one line that refuses source v2 for a volume above its cap (undefined when it fits). */
export function v2VolumeProblem(source: string, chatsPerDay: number): string | undefined {
  if (source !== 'v2' || chatsPerDay <= V2_DAY_CAP) return undefined;
  return `source v2 archives at most ${V2_DAY_CAP.toLocaleString('en-US')} chats of a day (LiveChat REST API v2 returns the latest 25 000 records of a query), expectedChatsPerDay is ${chatsPerDay.toLocaleString('en-US')}: set source to "v3.6"`;
}
