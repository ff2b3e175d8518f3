/**
 * In-memory chat store of the simulator: the account's days → chats (newest first), drift,
 * filtering. Days are local days of the account's time zone (`timeZone`, default UTC), and a
 * tenth of each day's chats start within ten minutes of its local midnights, so an archive that
 * cuts days in the wrong zone, or an hour off across DST, visibly misplaces chats.
 */
import { localDay, localDayBounds, timeZoneOrThrow } from '#shared/time-zone.ts';
import { type Rng, rngFor } from './prng.ts';
import {
  type Chat,
  type ChatMessage,
  chatCountForDay,
  compareNewestFirst,
  dayStartTs,
  daysBetween,
  generateChat,
  type MessagesPerChat,
  randomStartInDay,
  setChatEnd,
} from './synthetic-chats.ts';

export type DriftPosition = 'newest' | 'random';

export interface ChatFilters {
  /** Chats started at or after this instant (unix seconds). */
  fromTs?: number;
  /** Chats started at or before this instant (unix seconds). */
  toTs?: number;
  type?: 'chat' | 'missed_chat';
  visitorId?: string;
  query?: string;
  agent?: string;
  group?: number;
  goal?: number;
  hasGoal?: boolean;
  rate?: 'rated' | 'not_rated' | 'rated_good' | 'rated_bad';
}

export interface StoreOptions {
  seed: number;
  from: string;
  to: string;
  chatsPerDay?: number | ((day: string) => number);
  /** The account's IANA time zone: what `from`, `to` and a day mean here. Default UTC. */
  timeZone?: string;
  /** Messages of a chat that was not missed (default 2..5). */
  messagesPerChat?: MessagesPerChat;
}

/** Share of chats placed within ten minutes after a local midnight, and the same share before one. */
const NEAR_MIDNIGHT_SHARE = 0.05;
const NEAR_MIDNIGHT_SECONDS = 600;

export class ChatStore {
  readonly seed: number;
  readonly timeZone: string;
  private readonly messagesPerChat: MessagesPerChat | undefined;
  private readonly days = new Map<string, Chat[]>();
  /** Day keys sorted descending (newest day first). */
  private sortedDays: string[] = [];
  private readonly usedIds = new Set<string>();
  private readonly driftCounters = new Map<string, number>();
  private readonly searchText = new WeakMap<Chat, string>();
  private readonly bounds = new Map<string, { start: number; end: number }>();

  constructor(opts: StoreOptions) {
    this.seed = opts.seed;
    this.timeZone = timeZoneOrThrow(opts.timeZone ?? 'UTC', 'simulator timeZone');
    this.messagesPerChat = opts.messagesPerChat;
    for (const day of daysBetween(opts.from, opts.to)) {
      const count = chatCountForDay(opts.seed, day, opts.chatsPerDay);
      this.days.set(day, this.generateDay(day, count));
    }
    this.resortDays();
  }

  /** First and last second of one of the account's days. */
  dayBounds(day: string): { start: number; end: number } {
    let bounds = this.bounds.get(day);
    if (!bounds) {
      dayStartTs(day); // validates the day
      const { start, end } = localDayBounds(day, this.timeZone);
      bounds = { start: start / 1000, end: end / 1000 - 1 };
      this.bounds.set(day, bounds);
    }
    return bounds;
  }

  /** The base (pre-drift) chats of a local day, newest first. */
  private generateDay(day: string, count: number): Chat[] {
    const chats: Chat[] = [];
    for (let i = 0; i < count; i++) {
      const rng = rngFor(this.seed, 'chat', day, i);
      const startedTs = this.startInDay(rng, day, rngFor(this.seed, 'midnight', day, i));
      chats.push(
        generateChat({ seed: this.seed, rng, startedTs, usedIds: this.usedIds, messagesPerChat: this.messagesPerChat }),
      );
    }
    return chats.sort(compareNewestFirst);
  }

  /**
   * A start inside the local day: by hour weight (the same draw as a UTC day, shifted to the
   * local midnight), or, for a few chats, just after or just before a local midnight.
   */
  private startInDay(rng: Rng, day: string, nearMidnight: Rng): number {
    const { start, end } = this.dayBounds(day);
    const weighted = Math.min(end, start + randomStartInDay(rng, day) - dayStartTs(day));
    const draw = nearMidnight();
    if (draw < NEAR_MIDNIGHT_SHARE) return start + Math.floor(nearMidnight() * NEAR_MIDNIGHT_SECONDS);
    if (draw < 2 * NEAR_MIDNIGHT_SHARE) return end - Math.floor(nearMidnight() * NEAR_MIDNIGHT_SECONDS);
    return weighted;
  }

  private resortDays(): void {
    this.sortedDays = [...this.days.keys()].sort().reverse();
  }

  /** The live array of a day (newest first). Callers must not mutate it. */
  dayChats(day: string): readonly Chat[] {
    return this.days.get(day) ?? [];
  }

  /** All chats of all days, newest first (live objects). */
  all(): Chat[] {
    return this.sortedDays.flatMap((d) => this.days.get(d) ?? []);
  }

  /**
   * Add `count` new deterministic chats to `day` of `timeZone` (default: the account's zone),
   * as chats that end while that day is being listed (seed + day + per-day counter).
   * - 'newest': started after the current newest chat of the day (still inside the day) → front of the list.
   * - 'random': started anywhere inside the day but ended after every existing chat of the day
   *   (a long chat that only now shows up) → usually lands in the middle of the list.
   */
  addChats(day: string, count: number, position: DriftPosition = 'newest', timeZone = this.timeZone): Chat[] {
    dayStartTs(day); // validates the day
    const bounds = localDayBounds(day, timeZoneOrThrow(timeZone, 'drift timeZone'));
    return this.addChatsWithin(day, { start: bounds.start / 1000, end: bounds.end / 1000 - 1 }, count, position);
  }

  /**
   * The same, with starts inside `window` (unix seconds, inclusive; v3.6: the from/to of the
   * request being paged) and the determinism of `day`'s drift counter.
   */
  addChatsWithin(
    day: string,
    window: { start: number; end: number },
    count: number,
    position: DriftPosition = 'newest',
  ): Chat[] {
    const { start: dayStart, end: dayEnd } = window;
    const wholeDay = dayEnd - dayStart >= 82_799; // 23 hours or more: weight the start by hour
    const added: Chat[] = [];
    for (let i = 0; i < count; i++) {
      const list = this.query({ fromTs: dayStart, toTs: dayEnd }); // newest first
      const n = this.driftCounters.get(day) ?? 0;
      this.driftCounters.set(day, n + 1);
      const rng = rngFor(this.seed, 'drift', day, n);
      let startedTs: number;
      if (position === 'newest' && list.length > 0) {
        const newest = list[0]!.started_timestamp;
        startedTs = Math.min(dayEnd, newest + 1 + Math.floor(rng() * Math.max(1, Math.min(900, dayEnd - newest))));
      } else if (position === 'random' && list.length >= 2) {
        const lo = list[list.length - 1]!.started_timestamp;
        const hi = list[0]!.started_timestamp;
        startedTs = lo + Math.floor(rng() * (hi - lo + 1));
      } else if (wholeDay) {
        startedTs = Math.min(dayEnd, dayStart + randomStartInDay(rng, day) - dayStartTs(day));
      } else {
        startedTs = dayStart + Math.floor(rng() * (dayEnd - dayStart + 1));
      }
      const chat = generateChat({
        seed: this.seed,
        rng,
        startedTs,
        usedIds: this.usedIds,
        messagesPerChat: this.messagesPerChat,
      });
      if (position === 'random' && list.length > 0) {
        const latestEnd = Math.max(...list.map((c) => c.ended_timestamp as number));
        const end = chat.ended_timestamp as number;
        if (end <= latestEnd) setChatEnd(chat, latestEnd + 1 + Math.floor(rng() * 300));
      }
      this.storeChat(chat);
      added.push(chat);
    }
    return added;
  }

  /** Files a chat under the account's day it started on. */
  private storeChat(chat: Chat): void {
    const home = localDay(chat.started_timestamp * 1000, this.timeZone);
    let list = this.days.get(home);
    if (!list) {
      list = [];
      this.days.set(home, list);
      this.resortDays();
    }
    list.push(chat);
    list.sort(compareNewestFirst);
  }

  /** Matching chats started within [fromTs, toTs], newest first. */
  query(f: ChatFilters): Chat[] {
    const out: Chat[] = [];
    const q = f.query ? f.query.toLowerCase() : undefined;
    const fromTs = f.fromTs ?? Number.NEGATIVE_INFINITY;
    const toTs = f.toTs ?? Number.POSITIVE_INFINITY;
    for (const day of this.sortedDays) {
      const bounds = this.dayBounds(day);
      if (bounds.end < fromTs || bounds.start > toTs) continue;
      for (const chat of this.days.get(day) ?? []) {
        if (chat.started_timestamp < fromTs || chat.started_timestamp > toTs) continue;
        if (matches(chat, f, q, this.searchText)) out.push(chat);
      }
    }
    return out;
  }

  /** The chats that started on `day` in `timeZone` (the account's zone if not given), newest first. */
  chatsOfDay(day: string, timeZone = this.timeZone): Chat[] {
    if (timeZone === this.timeZone) return [...this.dayChats(day)];
    const { start, end } = localDayBounds(day, timeZoneOrThrow(timeZone));
    return this.query({ fromTs: start / 1000, toTs: end / 1000 - 1 });
  }
}

function matches(chat: Chat, f: ChatFilters, q: string | undefined, cache: WeakMap<Chat, string>): boolean {
  if (f.type !== undefined && chat.type !== f.type) return false;
  if (f.visitorId !== undefined && chat['visitor_id'] !== f.visitorId) return false;
  if (f.agent !== undefined) {
    const agents = chat['agents'] as Array<{ email: string }>;
    if (!agents.some((a) => a.email.toLowerCase() === f.agent!.toLowerCase())) return false;
  }
  if (f.group !== undefined && !(chat['group'] as number[]).includes(f.group)) return false;
  const goals = chat['goals'] as Array<{ id: number }> | undefined;
  if (f.goal !== undefined && !goals?.some((g) => g.id === f.goal)) return false;
  if (f.hasGoal !== undefined && f.hasGoal !== (goals !== undefined && goals.length > 0)) return false;
  if (f.rate !== undefined) {
    const rate = chat['rate'];
    if (f.rate === 'rated' ? rate !== 'rated_good' && rate !== 'rated_bad' : rate !== f.rate) return false;
  }
  if (q !== undefined) {
    let text = cache.get(chat);
    if (text === undefined) {
      const msgs = chat['messages'] as ChatMessage[];
      text = [String(chat['visitor_name']), ...msgs.map((m) => m.text)].join('\u0000').toLowerCase();
      cache.set(chat, text);
    }
    if (!text.includes(q)) return false;
  }
  return true;
}
