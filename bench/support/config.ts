export type Mode = 'quick' | 'full';

export interface BenchConfig {
  mode: Mode;
  throughput: {
    from: string;
    to: string;
    chatsPerDay: number;
    latencyMs: number;
    concurrencies: number[];
    repeatAt8: number;
  };
  workerCost: { warmupPages: number; pages: number };
  lambda: { coldImports: number };
  scale: {
    chatsPerDay: number;
    concurrency: number;
    small: { from: string; to: string };
    large: { from: string; to: string };
  };
  planner: { from: string; to: string };
  query: { chatsPerDay: number; from: string; to: string; runs: number };
  /** The HTML report: over the query lake, and over a year of days. */
  report: { yearFrom: string; yearTo: string; yearChatsPerDay: number };
  /** Compaction (issue 26): a year of days, ~100 000 chats. */
  compaction: { days: number; chatsPerDay: number; busyDays: number; busyChatsPerDay: number };
  /** CPU per ~120 KB page through the CLI (issue 22, point 5), and its wall time against the latency bound. */
  cliCpu: {
    from: string;
    /** The long run: from…longTo; the short run is `from` alone. */
    longTo: string;
    /** The steady-state run: from…steadyTo, less the long run (row 10.6). */
    steadyTo: string;
    messagesPerChat: { min: number; max: number };
    repeats: number;
    concurrency: number;
    latency: { from: string; to: string; latencyMs: number };
    /** The code to compare with (a commit of this repository, run from a `git archive` copy): "before". */
    baseline: string;
  };
}

export function configFor(mode: Mode): BenchConfig {
  const quick = mode === 'quick';
  return {
    mode,
    throughput: {
      from: '2024-03-01',
      // 16 days × 625 chats = 400 pages; quick: 8 days = 200 pages.
      to: quick ? '2024-03-08' : '2024-03-16',
      chatsPerDay: 625,
      latencyMs: 50,
      concurrencies: [1, 4, 8, 16],
      repeatAt8: 3,
    },
    workerCost: { warmupPages: 300, pages: quick ? 2000 : 5000 },
    lambda: { coldImports: 5 },
    scale: {
      chatsPerDay: 625,
      concurrency: 16,
      small: { from: '2023-01-01', to: '2023-01-04' }, // 4 days = 100 pages
      // 400 days = 10 000 pages; quick: 80 days = 2 000 pages.
      large: { from: '2023-01-01', to: quick ? '2023-03-21' : '2024-02-04' },
    },
    // Three calendar years (2024 is a leap year): 1 096 days.
    planner: { from: '2022-01-01', to: '2024-12-31' },
    query: {
      chatsPerDay: 625,
      from: '2024-01-01',
      // 160 days × 625 = 100 000 chats; quick: 40 days = 25 000 chats.
      to: quick ? '2024-02-09' : '2024-06-08',
      runs: 3,
    },
    report: { yearFrom: '2023-01-01', yearTo: quick ? '2023-03-31' : '2023-12-31', yearChatsPerDay: 100 },
    // 365 days × 274 chats = 100 010 chats; quick: 60 days × 100.
    // and the busy account: 30 days × 2 000 chats (quick: 10 × 500).
    compaction: quick
      ? { days: 60, chatsPerDay: 100, busyDays: 10, busyChatsPerDay: 500 }
      : { days: 365, chatsPerDay: 274, busyDays: 30, busyChatsPerDay: 2000 },
    // 8..14 messages per answered chat: 25-chat pages of ~110–137 KB (median ~120 KB).
    // Long run 11 days (250 pages more than the 1-day run); quick: 5 days (100 more).
    cliCpu: {
      from: '2024-03-01',
      longTo: quick ? '2024-03-05' : '2024-03-11',
      steadyTo: quick ? '2024-03-15' : '2024-04-10',
      messagesPerChat: { min: 8, max: 14 },
      repeats: 3,
      concurrency: 8,
      // 16 days × 25 pages = 400 pages at 50 ms, as §1.
      latency: { from: '2024-03-01', to: quick ? '2024-03-08' : '2024-03-16', latencyMs: 50 },
      // main before issue 22 point 5's changes (bench §10 added on top of it).
      baseline: '8123d7f',
    },
  };
}
