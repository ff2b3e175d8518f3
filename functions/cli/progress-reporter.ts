import cliProgress from 'cli-progress';
import type { ArchiveRunEvent } from '#pipeline/archive-run.ts';
import type { RetryEvent } from '#sources/v2/livechat-client.ts';

export interface ProgressReporter {
  onEvent(event: ArchiveRunEvent): void;
  onRetry(event: RetryEvent): void;
  /** A warning line that stays on screen above the bar. */
  warn(text: string): void;
  readonly retries: number;
  stop(): void;
}

interface Counts {
  days: number;
  daysDone: number;
  pagesPlanned: number;
  pagesDone: number;
  chats: number;
  retries: number;
  drift: number;
}

/** Chats written by the latest pass over each day: a re-archive replaces its day's earlier pass. */
type ChatsPerDay = Map<string, number>;

/** A live bar on a terminal; plain timestamped lines otherwise (CI, logs, pipes). */
export function createProgressReporter(totalDays: number, stream: NodeJS.WriteStream): ProgressReporter {
  const counts: Counts = {
    days: totalDays,
    daysDone: 0,
    pagesPlanned: 0,
    pagesDone: 0,
    chats: 0,
    retries: 0,
    drift: 0,
  };
  const chatsPerDay: ChatsPerDay = new Map();
  /** `day/attempt` of passes whose drift is already on screen: several pages of one pass may each see it. */
  const driftShown = new Set<string>();
  const bar = stream.isTTY
    ? new cliProgress.SingleBar(
        {
          stream,
          format:
            'pages {bar} {value}/{total} | days {daysDone}/{days} | chats {chats} | retries {retries} | drift {drift}',
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(0, 0, counts);
  const line = (text: string) => {
    if (bar) bar.update(counts.pagesDone, counts);
    else stream.write(`${new Date().toISOString()} ${text}\n`);
  };

  return {
    get retries() {
      return counts.retries;
    },
    onEvent(event) {
      switch (event.type) {
        case 'day-planned':
          counts.pagesPlanned += event.pages;
          if (event.attempt > 1) {
            counts.drift += 1;
            counts.chats -= chatsPerDay.get(event.day) ?? 0;
            chatsPerDay.set(event.day, 0);
          }
          bar?.setTotal(counts.pagesPlanned);
          line(`planned ${event.day} (attempt ${event.attempt}): ${event.total} chats on ${event.pages} pages`);
          break;
        case 'unit-written': // v3.6: a day's "pages" are its time slices
          counts.pagesDone += 1;
          counts.chats += event.written.chats;
          chatsPerDay.set(event.written.day, (chatsPerDay.get(event.written.day) ?? 0) + event.written.chats);
          if (bar) bar.update(counts.pagesDone, counts);
          break;
        case 'drift':
          if (driftShown.has(`${event.day}/${event.attempt}`)) break;
          driftShown.add(`${event.day}/${event.attempt}`);
          line(`drift on ${event.day} (attempt ${event.attempt}): ${event.reason}; the day will be archived again`);
          break;
        case 'day-finished':
          counts.daysDone += 1;
          line(
            `${event.record.status} ${event.record.day}: ${event.record.chatsWritten}/${event.record.expectedTotal} chats, ` +
              `${event.record.pages} pages, ${event.record.attempts} attempt(s) ` +
              `[${counts.daysDone}/${counts.days} days, ${counts.pagesDone} pages, ${counts.retries} retries]`,
          );
          break;
        case 'task-failed':
          line(`failed ${event.day}: ${event.message}`);
          break;
      }
    },
    onRetry(_event) {
      counts.retries += 1;
      if (bar) bar.update(counts.pagesDone, counts);
    },
    warn(text) {
      // On a terminal: clear the bar's line, print, and let the next update redraw the bar below.
      stream.write(`${bar ? '\r\x1b[2K' : ''}warning: ${text}\n`);
      if (bar) bar.update(counts.pagesDone, counts);
    },
    stop() {
      if (!bar) return;
      bar.stop();
      stream.write('\n');
    },
  };
}
