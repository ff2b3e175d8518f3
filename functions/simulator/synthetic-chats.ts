/**
 * Deterministic synthetic LiveChat REST API v2 chats.
 *
 * Every random choice comes from a seeded mulberry32 PRNG whose seed is derived
 * from (seed, purpose, day, index) — never Math.random — so the same seed always
 * yields byte-identical chats, and generating one chat never shifts another.
 */
import { formatV2Date } from '#sources/v36/archive-mapping.ts';
import { documentedDetails } from './chat-details.ts';
import type { ChatMessage } from './chat-message.ts';
import { chance, int, pick, type Rng, rngFor, weighted } from './prng.ts';

export type Chat = Record<string, unknown> & {
  id: string;
  started_timestamp: number;
  type: 'chat' | 'missed_chat';
};

export interface Person {
  display_name: string;
  email: string;
}

export type { ChatMessage };

// ---------------------------------------------------------------------------
// Date helpers
// ---------------------------------------------------------------------------

const DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date in YYYY-MM-DD form. */
export function isValidDay(s: string): boolean {
  const m = DAY_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** Unix seconds of 00:00:00 UTC of the day. */
export function dayStartTs(day: string): number {
  if (!isValidDay(day)) throw new Error(`invalid day ${JSON.stringify(day)} (expected YYYY-MM-DD)`);
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/** UTC day (YYYY-MM-DD) of a unix timestamp in seconds. */
export function dayOfTs(ts: number): string {
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

export function addDays(day: string, n: number): string {
  return dayOfTs(dayStartTs(day) + n * 86400);
}

/** Inclusive list of days from..to (ascending). Empty if from > to. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let ts = dayStartTs(from), end = dayStartTs(to); ts <= end; ts += 86400) out.push(dayOfTs(ts));
  return out;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** LiveChat v2 date format, UTC: "Wed, 01/23/13 11:40:53 am" (the v3.6 mapping writes the same format). */
export const formatLiveChatDate = formatV2Date;

// ---------------------------------------------------------------------------
// Static reference data
// ---------------------------------------------------------------------------

export const AGENTS: readonly Person[] = [
  { display_name: 'John Doe', email: 'john.doe@mycompany.com' },
  { display_name: 'Anna Kowalska', email: 'anna.kowalska@mycompany.com' },
  { display_name: "Liam O'Connor", email: 'liam.oconnor@mycompany.com' },
  { display_name: 'Sofía García', email: 'sofia.garcia@mycompany.com' },
  { display_name: 'Kenji Tanaka', email: 'kenji.tanaka@mycompany.com' },
  { display_name: 'Amara Okafor', email: 'amara.okafor@mycompany.com' },
];

export const SUPERVISORS: readonly Person[] = [
  { display_name: 'Jane Doe', email: 'jane.doe@mycompany.com' },
  { display_name: 'Marek Nowak', email: 'marek.nowak@mycompany.com' },
];

/** Group id → indexes into AGENTS. Group 0 is the default group everyone is in. */
export const GROUPS: Readonly<Record<number, readonly number[]>> = {
  0: [0, 1, 2, 3, 4, 5],
  1: [0, 1, 2],
  2: [3, 4],
  3: [1, 4, 5],
};
const GROUP_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [0, 40],
  [1, 25],
  [2, 20],
  [3, 15],
];

export const GOALS: ReadonlyArray<{ id: number; name: string }> = [
  { id: 71, name: 'goal_name' },
  { id: 72, name: 'purchase' },
  { id: 85, name: 'newsletter_signup' },
  { id: 90, name: 'demo_request' },
];

const FIRST_NAMES = [
  'Mary',
  'James',
  'Zoë',
  'José',
  'Łukasz',
  'Chloé',
  'Ahmed',
  'Priya',
  'Olivia',
  'Noah',
  'Björn',
  'Aiko',
  'Fatima',
  'Mateo',
  'Emma',
  'Wei',
  'Sean',
  'Ingrid',
  'Dmitri',
  'Ana',
  'Kofi',
  'Siobhán',
  'Hannah',
  'Lucas',
] as const;
const LAST_NAMES = [
  'Brown',
  'Smith',
  "O'Brien",
  'Müller',
  'Nguyen',
  'Kowalski',
  'García',
  'Rossi',
  'Sato',
  'Johnson',
  'Dubois',
  'Andersson',
  'Hernández',
  'Ivanova',
  'Mensah',
  'Walsh',
  'Lee',
  'Novák',
  'Silva',
  'Yılmaz',
] as const;
const CJK_NAMES = ['王伟', '李娜', '田中 花子', '김민수', '佐藤 健'] as const;

const VISITOR_OPENERS = [
  'Hi, I have a question about my order',
  'Hello! Is anyone there?',
  'Dzień dobry, mam pytanie o fakturę',
  '¿Dónde está mi pedido? Lo compré hace una semana.',
  '注文の状況を教えてください。',
  '我想申请退款，可以吗？',
  "Bonjour, je n'arrive pas à me connecter 😕",
  'Hey there 👋 quick question',
  'Is the "Pro" plan billed monthly or yearly?',
  'My invoice says "€0,00" — is that right?',
  'Hi\nI tried twice\nand the payment failed',
  'Guten Tag! Funktioniert der Gutschein „SOMMER20“ noch?',
  "I can't find the download link",
  'Hello, the app crashes on start 🙁🙁',
] as const;

const VISITOR_FOLLOWUPS = [
  "It's order #{n}",
  'Sure, one moment',
  "I saved it to C:\\Users\\me\\Downloads\\invoice.pdf but it won't open",
  'The error says: "Unexpected token \\ in JSON"',
  'Thanks! 🙏',
  'ありがとうございます！',
  'Perfect, that works 👍',
  'Hmm, still not working…',
  'Here is the log:\nERROR 42\n  at line 7',
  'Can you check order #{n}?',
  'My email is in the pre-chat form',
  'Ok 😀 great',
  'Da, to je točno.',
  'Merci beaucoup, très gentil !',
  'What about shipping to Zürich?',
  'I typed `C:\\temp\\` as the path',
  '¡Genial! Gracias 🎉',
] as const;

const AGENT_GREETINGS = [
  'Hello, how can I help you today?',
  'Hi {v}! Thanks for reaching out.',
  'Hello',
  'Good morning! What can I do for you? 😊',
] as const;

const AGENT_LINES = [
  'Let me check that for you, one moment please.',
  'Could you share your order number?',
  'I can see order #{n} — it shipped yesterday 🚚',
  "I've issued a refund, it should arrive in 3–5 business days.",
  'Please try clearing the cache:\n1. Open settings\n2. Click "Clear cache"\n3. Restart the app',
  'The "Pro" plan is billed monthly; yearly saves 20%.',
  'Use a forward slash instead of a backslash (\\) in the path.',
  'Is there anything else I can help with?',
  'Thanks, fine :)',
  "Sure — I've sent a password reset link to your e-mail.",
  'Happy to help! Have a great day ☀️',
  'We ship to Switzerland, yes. Delivery takes about 4 days.',
  'Entendido, lo reviso ahora mismo.',
] as const;

const SUPERVISOR_LINES = [
  'Message from supervisor.',
  "Jumping in to help — I've escalated this to our billing team.",
  'Supervisor note: please offer the 10% voucher.',
] as const;

// ---------------------------------------------------------------------------
// Visitors
// ---------------------------------------------------------------------------

interface Visitor {
  name: string;
  id: string;
  email: string;
  login: string;
}

const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomChars(rng: Rng, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

function slug(s: string): string {
  const ascii = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ł/gi, 'l')
    .replace(/ø/gi, 'o')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.+|\.+$/g, '');
  return ascii || 'visitor';
}

function makeVisitor(rng: Rng, firstSeenTs: number): Visitor {
  let name: string;
  const r = rng();
  if (r < 0.08) name = 'Client';
  else if (r < 0.15) name = pick(rng, CJK_NAMES);
  else name = `${pick(rng, FIRST_NAMES)} ${pick(rng, LAST_NAMES)}`;
  const base = name === 'Client' || /[^\u0020-\u024f]/.test(name) ? `user${int(rng, 100, 99999)}` : slug(name);
  return {
    name,
    id: `S${firstSeenTs}.${randomChars(rng, HEX, 10)}`,
    email: `${base}@${pick(rng, ['email.com', 'example.org', 'mail.example', 'gmail.example'])}`,
    login: base.replace(/\./g, '_'),
  };
}

/** A pool of returning visitors per seed, so visitor_id filters find several chats. */
const visitorPools = new Map<number, Visitor[]>();
const RETURNING_POOL_SIZE = 150;
function returningVisitor(seed: number, rng: Rng): Visitor {
  let pool = visitorPools.get(seed);
  if (!pool) {
    pool = [];
    for (let k = 0; k < RETURNING_POOL_SIZE; k++) {
      const vr = rngFor(seed, 'visitor', k);
      // First seen somewhere in 2012..2013, like the seed example's visitor ids.
      pool.push(makeVisitor(vr, 1325376000 + Math.floor(vr() * 63072000)));
    }
    visitorPools.set(seed, pool);
  }
  return pick(rng, pool);
}

// ---------------------------------------------------------------------------
// Chat generation
// ---------------------------------------------------------------------------

/** Hour-of-day weights (UTC): quiet nights, busy office hours. */
const HOUR_WEIGHTS: ReadonlyArray<readonly [number, number]> = Array.from({ length: 24 }, (_, h) => {
  const w = h < 6 ? 1 : h < 8 ? 3 : h < 18 ? 10 : h < 22 ? 5 : 2;
  return [h, w] as const;
});

/** A random second inside the day, weighted by hour. */
export function randomStartInDay(rng: Rng, day: string): number {
  const hour = weighted(rng, HOUR_WEIGHTS);
  return dayStartTs(day) + hour * 3600 + int(rng, 0, 3599);
}

function fillTemplate(text: string, rng: Rng, visitor: Visitor): string {
  return text.replace('{n}', String(int(rng, 10000, 99999))).replace('{v}', visitor.name.split(' ')[0] ?? visitor.name);
}

function agentMessage(person: Person, text: string, ts: number, userType: 'agent' | 'supervisor'): ChatMessage {
  return {
    author_name: person.display_name,
    text,
    date: formatLiveChatDate(ts),
    timestamp: ts,
    user_type: userType,
    agent_id: person.email,
  };
}

function visitorMessage(visitor: Visitor, text: string, ts: number): ChatMessage {
  return { author_name: visitor.name, text, date: formatLiveChatDate(ts), timestamp: ts, user_type: 'visitor' };
}

export interface GenerateChatInput {
  seed: number;
  rng: Rng;
  /** Unix seconds; the chat belongs to the UTC day of this timestamp. */
  startedTs: number;
  /** Used to guarantee id uniqueness; the id is added to it. */
  usedIds: Set<string>;
  /** Messages of a chat that was not missed, fewest and most (default 2..5: short chats). */
  messagesPerChat?: MessagesPerChat | undefined;
}

/** How long the conversations of a generated account are (a missed chat keeps its 1..3 visitor messages). */
export interface MessagesPerChat {
  min: number;
  max: number;
}

/** Build one chat. All randomness comes from input.rng. */
export function generateChat({ seed, rng, startedTs, usedIds, messagesPerChat }: GenerateChatInput): Chat {
  const missed = chance(rng, 0.12);

  let id = randomChars(rng, ALNUM, 10);
  while (usedIds.has(id)) id = randomChars(rng, ALNUM, 10);
  usedIds.add(id);

  const visitor = chance(rng, 0.25)
    ? returningVisitor(seed, rng)
    : makeVisitor(rng, startedTs - int(rng, 0, 60 * 86400));

  const group = weighted(rng, GROUP_WEIGHTS);
  const groupAgents = GROUPS[group] ?? GROUPS[0]!;
  const agents: Person[] = [];
  let supervisors: Person[] | undefined;
  if (!missed) {
    agents.push(AGENTS[pick(rng, groupAgents)]!);
    if (chance(rng, 0.1)) {
      // transferred chat: a second agent joins
      const other = AGENTS[pick(rng, groupAgents.length > 1 ? groupAgents : [0, 1, 2, 3, 4, 5])]!;
      if (other.email !== agents[0]!.email) agents.push(other);
    }
    if (chance(rng, 0.08)) supervisors = [pick(rng, SUPERVISORS)];
  }

  // --- messages ---
  const messages: ChatMessage[] = [];
  let t = startedTs;
  if (missed) {
    const n = int(rng, 1, 3);
    for (let i = 0; i < n; i++) {
      const text = fillTemplate(i === 0 ? pick(rng, VISITOR_OPENERS) : pick(rng, VISITOR_FOLLOWUPS), rng, visitor);
      messages.push(visitorMessage(visitor, text, t));
      t += int(rng, 5, 120);
    }
  } else {
    const n = int(rng, messagesPerChat?.min ?? 2, messagesPerChat?.max ?? 5);
    let agentTurn = chance(rng, 0.5); // the seed example starts with the agent greeting
    let greeted = false;
    for (let i = 0; i < n; i++) {
      if (agentTurn) {
        const agent = i > n / 2 && agents.length > 1 ? agents[1]! : agents[0]!;
        const line = pick(rng, greeted ? AGENT_LINES : AGENT_GREETINGS);
        greeted = true;
        messages.push(agentMessage(agent, fillTemplate(line, rng, visitor), t, 'agent'));
      } else {
        const pool = i === 0 || (i === 1 && messages[0]?.user_type === 'agent') ? VISITOR_OPENERS : VISITOR_FOLLOWUPS;
        messages.push(visitorMessage(visitor, fillTemplate(pick(rng, pool), rng, visitor), t));
      }
      t += int(rng, 3, 180);
      agentTurn = chance(rng, 0.25) ? agentTurn : !agentTurn;
    }
    if (supervisors) {
      t += int(rng, 30, 900);
      messages.push(agentMessage(supervisors[0]!, pick(rng, SUPERVISOR_LINES), t, 'supervisor'));
    }
  }
  const lastTs = messages[messages.length - 1]!.timestamp;
  const endedTs = lastTs + int(rng, 5, missed ? 300 : 600);

  const rate = missed
    ? 'not_rated'
    : weighted(rng, [
        ['not_rated', 65],
        ['rated_good', 25],
        ['rated_bad', 10],
      ] as const);

  // --- optional fields ---
  let prechat: Array<{ key: string; value: string; id: string }> | undefined;
  if (chance(rng, 0.45)) {
    const baseId = startedTs * 10000 + int(rng, 0, 9999);
    const filled = chance(rng, 0.7);
    prechat = [
      {
        key: 'Name:',
        value: filled && visitor.name !== 'Client' ? visitor.name : '',
        id: String(baseId * 10 + int(rng, 0, 9)),
      },
      { key: 'E-mail:', value: filled ? visitor.email : '', id: String(baseId * 100 + int(rng, 0, 99)) },
    ];
    if (chance(rng, 0.3)) {
      prechat.push({ key: 'Question:', value: messages[0]?.text ?? '', id: String(baseId * 10 + int(rng, 0, 9)) });
    }
  }

  let customVariables: Array<{ key: string; value: string }> | undefined;
  if (chance(rng, 0.3)) {
    customVariables = [{ key: 'customer_login', value: visitor.login }];
    if (chance(rng, 0.5))
      customVariables.push({ key: 'plan', value: pick(rng, ['free', 'basic', 'pro', 'enterprise']) });
    if (chance(rng, 0.3))
      customVariables.push({ key: 'cart_value', value: `${int(rng, 5, 900)}.${pad2(int(rng, 0, 99))}` });
  }

  let integrationVariables: Array<{ key: string; value: string }> | undefined;
  if (chance(rng, 0.06)) {
    const [first = visitor.name, ...rest] = visitor.name.split(' ');
    const username = slug(visitor.name);
    integrationVariables = [
      { key: 'facebook.id', value: String(int(rng, 100000000, 999999999)) },
      { key: 'facebook.name', value: visitor.name },
      { key: 'facebook.first_name', value: first },
      { key: 'facebook.last_name', value: rest.join(' ') },
      { key: 'facebook.gender', value: pick(rng, ['female', 'male']) },
      { key: 'facebook.locale', value: pick(rng, ['en_US', 'en_GB', 'pl_PL', 'es_ES', 'de_DE', 'ja_JP', 'fr_FR']) },
      { key: 'facebook.link', value: `http://www.facebook.com/${username}` },
      { key: 'facebook.username', value: username },
      { key: 'facebook.email', value: visitor.email },
    ];
  }

  let goals: Array<{ id: number; name: string }> | undefined;
  if (!missed && chance(rng, 0.12)) {
    goals = [pick(rng, GOALS)];
    if (chance(rng, 0.15)) {
      const second = pick(rng, GOALS);
      if (second.id !== goals[0]!.id) goals.push(second);
    }
  }

  // The rest of the documented object comes from streams of its own: the fields above stay as they were.
  const details = documentedDetails({
    rng: rngFor(seed, 'details', id),
    visitorRng: rngFor(seed, 'visitor-details', visitor.id),
    visitor,
    missed,
    startedTs,
    endedTs,
    messages,
    ...(goals ? { goals } : {}),
    formatDate: formatLiveChatDate,
  });

  // Key order follows the API documentation example (the flat visitor fields of older responses after `id`).
  const chat: Chat = {
    type: missed ? 'missed_chat' : 'chat',
    id,
    visitor_name: visitor.name,
    visitor_id: visitor.id,
    visitor_ip: details.visitorIp,
    visitor: details.visitor,
    agents,
    ...(supervisors ? { supervisors } : {}),
    rate,
    duration: endedTs - startedTs,
    chat_start_url: details.chatStartUrl,
    ...(details.referrer ? { referrer: details.referrer } : {}),
    group: [group],
    started: formatLiveChatDate(startedTs),
    ...(prechat ? { prechat_survey: prechat } : {}),
    ...(details.postchatSurvey ? { postchat_survey: details.postchatSurvey } : {}),
    ...(customVariables ? { custom_variables: customVariables } : {}),
    ...(integrationVariables ? { integration_variables: integrationVariables } : {}),
    ...(details.goals ? { goals: details.goals } : {}),
    ...(details.queue ? { queue: details.queue } : {}),
    tags: details.tags,
    timezone: details.timezone,
    messages,
    events: details.events,
    engagement: details.engagement,
    ...details.leftMessage,
    started_timestamp: startedTs,
    ended_timestamp: endedTs,
    ended: formatLiveChatDate(endedTs),
  };
  return chat;
}

/** Move the chat's end so it ends at `endedTs` (≥ its last message); updates duration and ended. */
export function setChatEnd(chat: Chat, endedTs: number): void {
  chat['ended_timestamp'] = endedTs;
  chat['ended'] = formatLiveChatDate(endedTs);
  chat['duration'] = endedTs - chat.started_timestamp;
}

// ---------------------------------------------------------------------------
// Per-day counts
// ---------------------------------------------------------------------------

export const DEFAULT_CHATS_PER_DAY = 60;

/**
 * Number of chats on `day`.
 * - a function: its (floored, ≥ 0) result is the exact count;
 * - a number (default 60): the mean; each day deterministically varies around it
 *   (weekends quieter, ±25% noise from the seed).
 */
export function chatCountForDay(
  seed: number,
  day: string,
  chatsPerDay: number | ((day: string) => number) = DEFAULT_CHATS_PER_DAY,
): number {
  if (typeof chatsPerDay === 'function') return Math.max(0, Math.floor(chatsPerDay(day)));
  const weekday = new Date(dayStartTs(day) * 1000).getUTCDay();
  const weekFactor = weekday === 0 || weekday === 6 ? 0.7 : 1.12; // (5*1.12 + 2*0.7) / 7 = 1
  const noise = 0.75 + 0.5 * rngFor(seed, 'count', day)();
  return Math.max(0, Math.round(chatsPerDay * weekFactor * noise));
}

/** Newest first by started_timestamp, ties broken by id (ascending). */
export function compareNewestFirst(a: Chat, b: Chat): number {
  return b.started_timestamp - a.started_timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** The base (pre-drift) chats of a day, newest first. */
export function generateDay(seed: number, day: string, count: number, usedIds: Set<string>): Chat[] {
  const chats: Chat[] = [];
  for (let i = 0; i < count; i++) {
    const rng = rngFor(seed, 'chat', day, i);
    chats.push(generateChat({ seed, rng, startedTs: randomStartInDay(rng, day), usedIds }));
  }
  return chats.sort(compareNewestFirst);
}
