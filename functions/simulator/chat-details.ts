/**
 * The fields of the documented REST API v2 chat object beyond the seed example (LiveChat's v2
 * reference, "Get list of chats": livechat-public-docs
 * src/pages/management/configuration-api/v2.0/index.mdx; shared/notes/livechat-api-facts.md,
 * section 1): the nested `visitor` with geolocation and user agent, `visitor_ip`, the start page
 * and (only sometimes) the referrer, a post-chat survey, goal dates and sales orders, the queue
 * (only for queued chats), tags, the time zone, `events` (messages, attachments, the closing
 * event), `engagement`, and a missed chat's left message (`time`, `email`, `message`).
 *
 * Drawn from their own PRNG stream (the caller passes it), so the seed-example fields of a chat
 * stay what they were. Not generated: `pending` (only with `include_pending=1`, which the
 * archiver never sends) and `tickets` (not documented).
 */

import { attachmentUrls } from './attachment-files.ts';
import type { ChatMessage } from './chat-message.ts';
import { chance, int, pick, type Rng, weighted } from './prng.ts';

/** Where visitors come from: city, country, ISO code, time zone, region (often empty, as in the docs). */
const LOCATIONS = [
  ['Central District', 'Hong Kong', 'HK', 'Asia/Hong_Kong', ''],
  ['Warsaw', 'Poland', 'PL', 'Europe/Warsaw', 'Mazowieckie'],
  ['Kraków', 'Poland', 'PL', 'Europe/Warsaw', 'Małopolskie'],
  ['Berlin', 'Germany', 'DE', 'Europe/Berlin', 'Land Berlin'],
  ['Zürich', 'Switzerland', 'CH', 'Europe/Zurich', 'Zurich'],
  ['Madrid', 'Spain', 'ES', 'Europe/Madrid', 'Madrid'],
  ['Lyon', 'France', 'FR', 'Europe/Paris', 'Auvergne-Rhône-Alpes'],
  ['Dublin', 'Ireland', 'IE', 'Europe/Dublin', 'Leinster'],
  ['London', 'United Kingdom', 'GB', 'Europe/London', 'England'],
  ['New York', 'United States', 'US', 'America/New_York', 'New York'],
  ['Phoenix', 'United States', 'US', 'America/Phoenix', 'Arizona'],
  ['São Paulo', 'Brazil', 'BR', 'America/Sao_Paulo', 'São Paulo'],
  ['Tokyo', 'Japan', 'JP', 'Asia/Tokyo', 'Tokyo'],
  ['Shanghai', 'China', 'CN', 'Asia/Shanghai', 'Shanghai'],
  ['Seoul', 'South Korea', 'KR', 'Asia/Seoul', ''],
  ['Accra', 'Ghana', 'GH', 'Africa/Accra', 'Greater Accra'],
] as const;

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
] as const;

const START_PAGES = [
  '/',
  '/pricing',
  '/checkout/cart',
  '/account/orders',
  '/help/shipping-and-returns',
  '/products/wireless-headphones-pro?utm_source=newsletter&utm_medium=email',
  '/blog/how-to-choose-a-plan',
  '/contact',
] as const;

const REFERRERS = [
  'https://www.google.com/',
  'https://www.bing.com/search?q=mycompany+support',
  'https://www.facebook.com/',
  'https://duckduckgo.com/',
  'https://newsletter.mycompany.com/2026/11/black-friday',
  'https://www.reddit.com/r/headphones/comments/1abcde/',
] as const;

const TAGS = ['sales', 'support', 'feedback', 'billing', 'shipping', 'refund', 'bug', 'vip', 'complaint'] as const;

const POSTCHAT_ANSWERS = ['Good', 'Bad', 'Very good', 'Neutral'] as const;
const POSTCHAT_COMMENTS: readonly string[] = [
  'Quick and helpful, thank you!',
  'Took a while to get an answer.',
  '',
  'The agent solved my problem 👍',
];

const PRODUCTS = [
  ['wireless headphones pro', '199', 'USD'],
  ['annual plan', '1188', 'EUR'],
  ['product one', '199', 'CZK'],
  ['gift card', '50', 'GBP'],
  ['replacement cable', '12.99', 'PLN'],
] as const;

const ENGAGEMENTS = [
  ['immediate_start', 70],
  ['auto_invite', 20],
  ['manual_invite', 10],
] as const;

/** Time zone the API formats `started`, `ended` and message dates in: the simulator formats them in UTC. */
export const SIMULATED_ACCOUNT_TIME_ZONE = 'UTC';

export interface DetailInput {
  /** The PRNG stream for the details only. */
  rng: Rng;
  /** A PRNG stream of the visitor (same location and browser in every chat of a returning visitor). */
  visitorRng: Rng;
  visitor: { id: string; name: string; email: string };
  missed: boolean;
  startedTs: number;
  endedTs: number;
  messages: readonly ChatMessage[];
  goals?: ReadonlyArray<{ id: number; name: string }>;
  /** Formats a Unix time as the API does. */
  formatDate: (ts: number) => string;
}

/** The documented fields, by where they go in the chat (the generator keeps the docs' key order). */
export interface ChatDetails {
  visitorIp: string;
  visitor: Record<string, string>;
  chatStartUrl: string;
  referrer?: string;
  postchatSurvey?: Array<{ key: string; value: string; id: string }>;
  goals?: Array<Record<string, unknown>>;
  queue?: { duration: number };
  tags: string[];
  timezone: string;
  events: Array<Record<string, unknown>>;
  engagement: string;
  leftMessage?: { time: string; email: string; message: string };
}

export function documentedDetails(input: DetailInput): ChatDetails {
  const { rng, visitorRng, visitor, missed, startedTs, endedTs, formatDate } = input;
  const [city, country, countryCode, timezone, region] = pick(visitorRng, LOCATIONS);
  const ip = `${int(visitorRng, 11, 223)}.${int(visitorRng, 0, 255)}.${int(visitorRng, 0, 255)}.${int(visitorRng, 1, 254)}`;
  const userAgent = pick(visitorRng, USER_AGENTS);

  const details: ChatDetails = {
    visitorIp: ip,
    visitor: {
      id: visitor.id,
      name: visitor.name,
      ip,
      city,
      country,
      country_code: countryCode,
      timezone,
      region,
      user_agent: userAgent,
    },
    chatStartUrl: `https://www.mycompany.com${pick(rng, START_PAGES)}`,
    tags: chance(rng, missed ? 0.2 : 0.65) ? tagsOf(rng) : [],
    timezone: SIMULATED_ACCOUNT_TIME_ZONE,
    events: events(input),
    engagement: weighted(rng, ENGAGEMENTS),
  };
  if (chance(rng, 0.45)) details.referrer = pick(rng, REFERRERS);
  if (!missed && chance(rng, 0.2)) details.postchatSurvey = postchatSurvey(rng, startedTs);
  if (input.goals) details.goals = input.goals.map((goal) => goalDetails(rng, goal, startedTs, endedTs, formatDate));
  if (chance(rng, 0.15)) details.queue = { duration: int(rng, 5, 900) };
  if (missed) {
    const first = input.messages.find((message) => message.user_type === 'visitor');
    details.leftMessage = {
      time: formatDate(startedTs),
      email: chance(rng, 0.8) ? visitor.email : '',
      message: first?.text ?? '',
    };
  }
  return details;
}

function tagsOf(rng: Rng): string[] {
  const tags = new Set<string>([pick(rng, TAGS)]);
  if (chance(rng, 0.35)) tags.add(pick(rng, TAGS));
  if (chance(rng, 0.1)) tags.add(pick(rng, TAGS));
  return [...tags];
}

function postchatSurvey(rng: Rng, startedTs: number): Array<{ key: string; value: string; id: string }> {
  const baseId = startedTs * 100000 + int(rng, 0, 99999);
  const survey: Array<{ key: string; value: string; id: string }> = [
    { key: 'How would you rate the quality of support?', value: pick(rng, POSTCHAT_ANSWERS), id: String(baseId) },
  ];
  if (chance(rng, 0.5)) {
    survey.push({ key: 'Any comments?', value: pick(rng, POSTCHAT_COMMENTS), id: String(baseId + 1) });
  }
  return survey;
}

/** A goal as documented: a sales tracker carries `type` and its order; a plain goal an empty order. */
function goalDetails(
  rng: Rng,
  goal: { id: number; name: string },
  startedTs: number,
  endedTs: number,
  formatDate: (ts: number) => string,
): Record<string, unknown> {
  const ts = int(rng, startedTs, Math.max(startedTs, endedTs));
  const sale = goal.name === 'purchase';
  const [description, price, currency] = pick(rng, PRODUCTS);
  return {
    id: goal.id,
    name: goal.name,
    ...(sale ? { type: 'sales_tracker' } : {}),
    date: formatDate(ts),
    timestamp: ts,
    order: sale
      ? { id: `ORD-${int(rng, 100000, 999999)}`, description, price, currency }
      : { id: '', description: '', price: '0', currency: '' },
  };
}

/** Every message as a `message` event (attachment-files.ts says what each file URL serves), a visitor's attachment now and then, and who closed the chat. */
function events(input: DetailInput): Array<Record<string, unknown>> {
  const { rng, visitor, missed, endedTs, formatDate } = input;
  const out: Array<Record<string, unknown>> = [];
  let attached = missed || !chance(rng, 0.12);
  for (const message of input.messages) {
    out.push({ ...message, type: 'message' });
    if (!attached && message.user_type === 'visitor') {
      attached = true;
      const ts = message.timestamp + int(rng, 2, 30);
      out.push({
        text: `${visitor.name} uploaded the attachment.`,
        date: formatDate(ts),
        timestamp: ts,
        type: 'attachment',
        user_type: 'visitor',
        files: attachmentUrls(int(rng, 10000000, 99999999)),
        author_name: visitor.name,
      });
    }
  }
  if (!missed) {
    const last = input.messages.at(-1);
    const byAgent = chance(rng, 0.5) && last?.user_type !== 'visitor';
    const closer = byAgent && last ? last.author_name : visitor.name;
    out.push({
      text: `${closer} closed the chat.`,
      date: formatDate(endedTs),
      timestamp: endedTs,
      type: 'event',
      event_type: 'closed',
      user_type: byAgent ? 'agent' : 'visitor',
    });
  }
  return out;
}
