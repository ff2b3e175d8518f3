import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outsideOrigin } from '#simulator/attachment-files.ts';
import { AGENTS, type Chat, type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';

/** Chats with the serving simulator's origins (its port) in file URLs made comparable across simulators. */
function portless<T>(from: RunningSimulator, value: T): T {
  const text = JSON.stringify(value)
    .replaceAll(from.url, 'http://sim')
    .replaceAll(outsideOrigin(from.url), 'http://out');
  return JSON.parse(text) as T;
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

interface Page {
  chats: Chat[];
  total: number;
  pages: number;
}

const started: RunningSimulator[] = [];
async function sim(opts: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const s = await startSimulator({
    from: '2024-03-01',
    to: '2024-03-07',
    host: '127.0.0.1',
    port: 0,
    today: '2024-03-10',
    ...opts,
  });
  started.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

function authHeader(login: string, key: string): string {
  return `Basic ${Buffer.from(`${login}:${key}`).toString('base64')}`;
}

function headersFor(s: RunningSimulator): Record<string, string> {
  return { Authorization: authHeader(s.login, s.apiKey), 'X-API-Version': '2' };
}

async function raw(
  s: RunningSimulator,
  query: Record<string, string | number> = {},
  init: RequestInit = {},
): Promise<Response> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  return fetch(`${s.url}/chats${qs ? `?${qs}` : ''}`, { headers: headersFor(s), ...init });
}

async function getPage(s: RunningSimulator, query: Record<string, string | number> = {}): Promise<Page> {
  const res = await raw(s, query);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

/** Fetch every page of a query and return the chats in order. */
async function getAll(
  s: RunningSimulator,
  query: Record<string, string | number>,
): Promise<{ chats: Chat[]; total: number; pages: number }> {
  const first = await getPage(s, query);
  const chats = [...first.chats];
  for (let p = 2; p <= first.pages; p++) chats.push(...(await getPage(s, { ...query, page: p })).chats);
  return { chats, total: first.total, pages: first.pages };
}

const ids = (chats: Chat[]): string[] => chats.map((c) => c.id);
const DAY = '2024-03-04';
const WEEK = { date_from: '2024-03-01', date_to: '2024-03-07' };
const exactly = (n: number) => () => n;

// ---------------------------------------------------------------------------
// pagination & protocol
// ---------------------------------------------------------------------------

describe('pagination', () => {
  let s: RunningSimulator;
  beforeAll(async () => {
    s = await sim({ from: DAY, to: DAY, chatsPerDay: exactly(60) });
  });

  it('serves 25 chats a page, newest first, with total and pages', async () => {
    const p1 = await getPage(s, { date_from: DAY, date_to: DAY });
    expect(p1.total).toBe(60);
    expect(p1.pages).toBe(3);
    expect(p1.chats).toHaveLength(25);
    const p3 = await getPage(s, { date_from: DAY, date_to: DAY, page: 3 });
    expect(p3.chats).toHaveLength(10);
    expect(p3.total).toBe(60);
    expect(p3.pages).toBe(3);
    const ts = p1.chats.map((c) => c.started_timestamp);
    expect(ts).toEqual([...ts].sort((a, b) => b - a));
    expect(p1.chats[0]!.started_timestamp).toBeGreaterThanOrEqual(p3.chats[0]!.started_timestamp);
  });

  it('returns every chat exactly once across pages, in the order of chats(day)', async () => {
    const all = await getAll(s, { date_from: DAY, date_to: DAY });
    expect(all.chats).toHaveLength(60);
    expect(new Set(ids(all.chats)).size).toBe(60);
    expect(ids(all.chats)).toEqual(ids(s.chats(DAY)));
    // the wire format equals the simulator's own view (JSON round trip)
    expect(all.chats).toEqual(s.chats(DAY));
  });

  it('pages past the end return chats: [] with the right total/pages', async () => {
    const p = await getPage(s, { date_from: DAY, date_to: DAY, page: 4 });
    expect(p).toEqual({ chats: [], total: 60, pages: 3 });
    const far = await getPage(s, { date_from: DAY, date_to: DAY, page: 999 });
    expect(far).toEqual({ chats: [], total: 60, pages: 3 });
  });

  it('an empty result has total 0 and pages 0', async () => {
    expect(await getPage(s, { date_from: '2024-03-05', date_to: '2024-03-05' })).toEqual({
      chats: [],
      total: 0,
      pages: 0,
    });
    expect(await getPage(s, { date_from: '2024-03-05', date_to: '2024-03-01' })).toEqual({
      chats: [],
      total: 0,
      pages: 0,
    });
  });

  it('exact multiples of 25 have no trailing empty page', async () => {
    const s50 = await sim({ from: DAY, to: DAY, chatsPerDay: exactly(50) });
    const p = await getPage(s50, { date_from: DAY, date_to: DAY, page: 2 });
    expect(p.total).toBe(50);
    expect(p.pages).toBe(2);
    expect(p.chats).toHaveLength(25);
  });

  it('multi-day ranges are newest first across days; date_from/date_to are inclusive; defaults cover all days up to today', async () => {
    const w = await sim({ chatsPerDay: exactly(30) });
    const range = await getAll(w, { date_from: '2024-03-02', date_to: '2024-03-03' });
    expect(range.total).toBe(60);
    expect(ids(range.chats)).toEqual([...ids(w.chats('2024-03-03')), ...ids(w.chats('2024-03-02'))]);
    const noDates = await getPage(w);
    expect(noDates.total).toBe(7 * 30);
    expect(noDates.chats[0]!.id).toBe(w.chats('2024-03-07')[0]!.id);
    // date_to defaults to "today": with today before the data, nothing matches
    const early = await sim({ chatsPerDay: exactly(30), today: '2024-03-03' });
    expect((await getPage(early)).total).toBe(3 * 30);
  });

  it('responds with Content-Type application/json', async () => {
    const res = await raw(s, { date_from: DAY, date_to: DAY });
    expect(res.headers.get('content-type')).toBe('application/json');
    await res.arrayBuffer();
  });
});

describe('cachePages (benchmarks: answers serialized once)', () => {
  const options = { from: '2024-03-01', to: '2024-03-03', chatsPerDay: exactly(60) };
  const texts = async (s: RunningSimulator, query: Record<string, string | number>) => {
    const res = await raw(s, query);
    expect(res.status).toBe(200);
    return (await res.text()).replaceAll(s.url, 'http://sim').replaceAll(outsideOrigin(s.url), 'http://out');
  };

  it('answers byte for byte what the simulator serializes per request, for precomputed and other queries', async () => {
    const [plain, cached] = await Promise.all([sim(options), sim({ ...options, cachePages: true })]);
    const queries: Record<string, string | number>[] = [
      { date_from: '2024-03-02', date_to: '2024-03-02', page: 1 },
      { date_from: '2024-03-02', date_to: '2024-03-02', page: 3 },
      { date_from: '2024-03-03', date_to: '2024-03-03', timezone: 'UTC', page: 2 },
      { date_from: '2024-03-01', date_to: '2024-03-03', page: 5, type: 'chat' },
      { date_from: '2024-03-01', date_to: '2024-03-01', page: 9 },
    ];
    for (const query of queries) {
      const expected = await texts(plain, query);
      expect(await texts(cached, query)).toBe(expected);
      expect(await texts(cached, query)).toBe(expected); // asked again: from memory
    }
  });

  it('serves chats added later (addChats forgets the answers kept)', async () => {
    const cached = await sim({ ...options, cachePages: true });
    const day = { date_from: '2024-03-02', date_to: '2024-03-02' };
    expect((await getPage(cached, day)).total).toBe(60);
    cached.addChats('2024-03-02', 3);
    expect((await getPage(cached, day)).total).toBe(63);
  });

  it('is refused with drift, which changes the days', async () => {
    await expect(
      sim({ ...options, cachePages: true, faults: { drift: [{ day: '2024-03-02', afterRequests: 1, addChats: 1 }] } }),
    ).rejects.toThrow(/cachePages cannot be combined with drift/);
  });
});

describe('protocol errors', () => {
  let s: RunningSimulator;
  beforeAll(async () => {
    s = await sim({
      from: DAY,
      to: DAY,
      chatsPerDay: exactly(5),
      login: 'john.doe@mycompany.com',
      apiKey: 'c14b85863755158d7aa5cc4ba17f61cb',
    });
  });

  it('401 with a JSON error for missing or wrong basic auth', async () => {
    const missing = await fetch(`${s.url}/chats`, { headers: { 'X-API-Version': '2' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({ error: 'Authentication failed' });
    const wrongKey = await fetch(`${s.url}/chats`, {
      headers: { Authorization: authHeader(s.login, 'nope'), 'X-API-Version': '2' },
    });
    expect(wrongKey.status).toBe(401);
    expect(await wrongKey.json()).toEqual({ error: 'Authentication failed' });
    const wrongLogin = await fetch(`${s.url}/chats`, {
      headers: { Authorization: authHeader('x@y.z', s.apiKey), 'X-API-Version': '2' },
    });
    expect(wrongLogin.status).toBe(401);
    await wrongLogin.arrayBuffer();
    const bearer = await fetch(`${s.url}/chats`, {
      headers: { Authorization: `Bearer ${s.apiKey}`, 'X-API-Version': '2' },
    });
    expect(bearer.status).toBe(401);
    await bearer.arrayBuffer();
  });

  it('accepts the configured credentials', async () => {
    expect(s.login).toBe('john.doe@mycompany.com');
    expect((await getPage(s, { date_from: DAY, date_to: DAY })).total).toBe(5);
  });

  it('400 without X-API-Version: 2', async () => {
    const missing = await fetch(`${s.url}/chats`, { headers: { Authorization: authHeader(s.login, s.apiKey) } });
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toHaveProperty('error');
    const v3 = await fetch(`${s.url}/chats`, {
      headers: { Authorization: authHeader(s.login, s.apiKey), 'X-API-Version': '3' },
    });
    expect(v3.status).toBe(400);
    expect(await v3.json()).toHaveProperty('error');
  });

  it('400 for bad dates, pages and enum values', async () => {
    const bad: Array<Record<string, string>> = [
      { date_from: '2024-3-4' },
      { date_to: '04/03/2024' },
      { date_from: '2024-02-30' },
      { date_from: '' },
      { page: '0' },
      { page: '-1' },
      { page: 'two' },
      { page: '1.5' },
      { type: 'chats' },
      { rate: 'good' },
      { has_goal: 'yes' },
      { group: 'support' },
      { goal: 'x' },
    ];
    for (const q of bad) {
      const res = await raw(s, q);
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBeTypeOf('string');
    }
  });

  it('404 for unknown paths', async () => {
    for (const path of ['/', '/chat', '/v2/chats', '/chats/ABC']) {
      const res = await fetch(`${s.url}${path}`, { headers: headersFor(s) });
      expect(res.status, path).toBe(404);
      await res.arrayBuffer();
    }
  });

  it('counts requests, statuses and auth headers in stats()', async () => {
    const before = s.stats();
    await (await fetch(`${s.url}/chats`, { headers: { 'X-API-Version': '2' } })).arrayBuffer();
    await (await raw(s, { date_from: DAY, date_to: DAY })).arrayBuffer();
    const after = s.stats();
    expect(after.requests - before.requests).toBe(2);
    expect(after.authHeadersSeen - before.authHeadersSeen).toBe(1);
    expect((after.byStatus['401'] ?? 0) - (before.byStatus['401'] ?? 0)).toBe(1);
    expect((after.byStatus['200'] ?? 0) - (before.byStatus['200'] ?? 0)).toBe(1);
  });
});

// ---------------------------------------------------------------------------
// filters
// ---------------------------------------------------------------------------

describe('filters', () => {
  let s: RunningSimulator;
  let all: Chat[];
  beforeAll(async () => {
    s = await sim();
    all = s.allChats();
  });

  async function expectFilter(
    params: Record<string, string | number>,
    predicate: (c: Chat) => boolean,
  ): Promise<Chat[]> {
    const expected = all.filter(predicate);
    expect(expected.length, `fixture has matches for ${JSON.stringify(params)}`).toBeGreaterThan(0);
    expect(expected.length, `fixture has non-matches for ${JSON.stringify(params)}`).toBeLessThan(all.length);
    const got = await getAll(s, { ...WEEK, ...params });
    expect(got.total).toBe(expected.length);
    expect(got.pages).toBe(Math.ceil(expected.length / 25));
    expect(ids(got.chats)).toEqual(ids(expected));
    return got.chats;
  }

  const agentsOf = (c: Chat) => c['agents'] as Array<{ email: string }>;
  const goalsOf = (c: Chat) => (c['goals'] as Array<{ id: number }> | undefined) ?? [];
  const textOf = (c: Chat) =>
    [c['visitor_name'] as string, ...(c['messages'] as Array<{ text: string }>).map((m) => m.text)]
      .join('\n')
      .toLowerCase();

  it('type', async () => {
    await expectFilter({ type: 'missed_chat' }, (c) => c.type === 'missed_chat');
    await expectFilter({ type: 'chat' }, (c) => c.type === 'chat');
  });

  it('visitor_id (returning visitors have several chats)', async () => {
    const counts = new Map<string, number>();
    for (const c of all) counts.set(c['visitor_id'] as string, (counts.get(c['visitor_id'] as string) ?? 0) + 1);
    const [vid, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    expect(n).toBeGreaterThan(1);
    await expectFilter({ visitor_id: vid }, (c) => c['visitor_id'] === vid);
  });

  it('query: case-insensitive substring of message text or visitor name (unicode too)', async () => {
    await expectFilter({ query: 'ORDER' }, (c) => textOf(c).includes('order'));
    await expectFilter({ query: '注文' }, (c) => textOf(c).includes('注文'));
    await expectFilter({ query: 'ZOË' }, (c) => textOf(c).includes('zoë'));
    const nameOnly = all.find(
      (c) =>
        !textOf(c)
          .replace((c['visitor_name'] as string).toLowerCase(), '')
          .includes('brown') && (c['visitor_name'] as string).includes('Brown'),
    );
    if (nameOnly) expect(ids((await getAll(s, { ...WEEK, query: 'brown' })).chats)).toContain(nameOnly.id);
  });

  it('agent (login = email)', async () => {
    const email = AGENTS[1]!.email;
    await expectFilter({ agent: email }, (c) => agentsOf(c).some((a) => a.email === email));
  });

  it('group', async () => {
    for (const g of [0, 3]) await expectFilter({ group: g }, (c) => (c['group'] as number[]).includes(g));
  });

  it('goal and has_goal', async () => {
    const goalId = goalsOf(all.find((c) => goalsOf(c).length > 0)!)[0]!.id;
    await expectFilter({ goal: goalId }, (c) => goalsOf(c).some((g) => g.id === goalId));
    await expectFilter({ has_goal: 1 }, (c) => goalsOf(c).length > 0);
    await expectFilter({ has_goal: 0 }, (c) => goalsOf(c).length === 0);
  });

  it('rate', async () => {
    await expectFilter({ rate: 'rated' }, (c) => c['rate'] === 'rated_good' || c['rate'] === 'rated_bad');
    await expectFilter({ rate: 'not_rated' }, (c) => c['rate'] === 'not_rated');
    await expectFilter({ rate: 'rated_good' }, (c) => c['rate'] === 'rated_good');
    await expectFilter({ rate: 'rated_bad' }, (c) => c['rate'] === 'rated_bad');
  });

  it('filters combine (AND)', async () => {
    await expectFilter(
      { type: 'chat', group: 1, rate: 'not_rated' },
      (c) => c.type === 'chat' && (c['group'] as number[])[0] === 1 && c['rate'] === 'not_rated',
    );
  });
});

// ---------------------------------------------------------------------------
// data
// ---------------------------------------------------------------------------

describe('synthetic data', () => {
  let all: Chat[];
  let s: RunningSimulator;
  beforeAll(async () => {
    s = await sim({ from: '2024-01-01', to: '2024-01-14' });
    all = s.allChats();
  });

  it('is deterministic per seed and differs between seeds', async () => {
    const again = await sim({ from: '2024-01-01', to: '2024-01-14' });
    expect(portless(again, again.allChats())).toEqual(portless(s, all));
    const other = await sim({ from: '2024-01-01', to: '2024-01-14', seed: 7 });
    const otherIds = new Set(ids(other.allChats()));
    expect(ids(all).filter((id) => otherIds.has(id))).toEqual([]);
    // a sub-range of days is the same data as the same days of a longer range
    const sub = await sim({ from: '2024-01-05', to: '2024-01-05' });
    expect(portless(sub, sub.chats('2024-01-05'))).toEqual(portless(s, s.chats('2024-01-05')));
  });

  it('chats per day vary around the mean (default 60), or are exact with a function', async () => {
    const counts = Array.from({ length: 14 }, (_, i) => s.chats(`2024-01-${String(i + 1).padStart(2, '0')}`).length);
    expect(new Set(counts).size).toBeGreaterThan(3);
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    expect(mean).toBeGreaterThan(45);
    expect(mean).toBeLessThan(75);
    const small = await sim({ from: DAY, to: DAY, chatsPerDay: 10 });
    expect(small.chats(DAY).length).toBeGreaterThan(3);
    expect(small.chats(DAY).length).toBeLessThan(20);
    const exact = await sim({ chatsPerDay: (d) => (d === '2024-03-02' ? 0 : 7) });
    expect(exact.chats('2024-03-02')).toEqual([]);
    expect(exact.chats('2024-03-03')).toHaveLength(7);
    expect(exact.chats('2024-02-28')).toEqual([]); // outside from..to
  });

  it('every chat has the documented fields with the documented formats', () => {
    const seen = new Set<string>();
    const dayOfId = new Map<string, string>();
    for (let d = 1; d <= 14; d++) {
      const day = `2024-01-${String(d).padStart(2, '0')}`;
      for (const c of s.chats(day)) dayOfId.set(c.id, day);
    }
    const dateRe = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2}\/\d{2}\/\d{2} (0[1-9]|1[0-2]):[0-5]\d:[0-5]\d (am|pm)$/;
    for (const c of all) {
      expect(c.id).toMatch(/^[A-Z0-9]{10}$/);
      expect(seen.has(c.id)).toBe(false);
      seen.add(c.id);
      expect(['chat', 'missed_chat']).toContain(c.type);
      expect(c['visitor_name']).toBeTypeOf('string');
      expect(c['visitor_id']).toMatch(/^S\d+\.[0-9a-f]+$/);
      expect(['rated_good', 'rated_bad', 'not_rated']).toContain(c['rate']);
      expect(c['group']).toEqual([expect.any(Number)]);
      expect((c['group'] as number[])[0]).toBeGreaterThanOrEqual(0);
      expect((c['group'] as number[])[0]).toBeLessThanOrEqual(3);
      expect(c['started']).toMatch(dateRe);
      expect(c['ended']).toMatch(dateRe);
      expect(Number.isInteger(c['duration'])).toBe(true);
      expect(c['ended_timestamp']).toBe(c.started_timestamp + (c['duration'] as number));
      // belongs to the UTC day it is listed under
      const day = new Date(c.started_timestamp * 1000).toISOString().slice(0, 10);
      expect(dayOfId.get(c.id)).toBe(day);
      const msgs = c['messages'] as Array<Record<string, unknown>>;
      expect(msgs.length).toBeGreaterThan(0);
      for (const m of msgs) {
        expect(Object.keys(m).slice(0, 5)).toEqual(['author_name', 'text', 'date', 'timestamp', 'user_type']);
        expect(m['date']).toMatch(dateRe);
        expect(m['timestamp']).toBeGreaterThanOrEqual(c.started_timestamp);
        expect(m['timestamp']).toBeLessThanOrEqual(c['ended_timestamp'] as number);
        if (m['user_type'] === 'visitor') expect(m).not.toHaveProperty('agent_id');
        else expect(m['agent_id']).toMatch(/@/);
      }
      const agents = c['agents'] as Array<{ display_name: string; email: string }>;
      if (c.type === 'missed_chat') {
        expect(agents).toEqual([]);
        expect(msgs.every((m) => m['user_type'] === 'visitor')).toBe(true);
        expect(c['rate']).toBe('not_rated');
      } else {
        expect(agents.length).toBeGreaterThan(0);
        for (const a of agents) expect(Object.keys(a)).toEqual(['display_name', 'email']);
      }
    }
  });

  it('matches the documented example format exactly for a known timestamp', async () => {
    const { formatLiveChatDate } = await import('#simulator/index.ts');
    expect(formatLiveChatDate(1358937653)).toBe('Wed, 01/23/13 10:40:53 am');
    expect(formatLiveChatDate(Date.UTC(2024, 0, 1, 0, 5, 9) / 1000)).toBe('Mon, 01/01/24 12:05:09 am');
    expect(formatLiveChatDate(Date.UTC(2024, 0, 1, 12, 5, 9) / 1000)).toBe('Mon, 01/01/24 12:05:09 pm');
  });

  it('optional fields are sometimes absent and sometimes present', () => {
    for (const field of ['supervisors', 'prechat_survey', 'custom_variables', 'integration_variables', 'goals']) {
      const present = all.filter((c) => field in c).length;
      expect(present, field).toBeGreaterThan(0);
      expect(present, field).toBeLessThan(all.length);
    }
    const fb = all.find((c) => 'integration_variables' in c)!;
    expect((fb['integration_variables'] as Array<{ key: string }>).map((v) => v.key)).toEqual([
      'facebook.id',
      'facebook.name',
      'facebook.first_name',
      'facebook.last_name',
      'facebook.gender',
      'facebook.locale',
      'facebook.link',
      'facebook.username',
      'facebook.email',
    ]);
    const pre = all.find((c) => 'prechat_survey' in c)!;
    for (const p of pre['prechat_survey'] as Array<Record<string, unknown>>) {
      expect(Object.keys(p)).toEqual(['key', 'value', 'id']);
      expect(p['id']).toMatch(/^\d+$/);
    }
    const withGoal = all.find((c) => 'goals' in c)!;
    for (const g of withGoal['goals'] as Array<Record<string, unknown>>) {
      expect(g['id']).toBeTypeOf('number');
      expect(g['name']).toBeTypeOf('string');
    }
    // supervisors only appear with a supervisor message
    for (const c of all.filter((x) => 'supervisors' in x)) {
      expect((c['messages'] as Array<{ user_type: string }>).some((m) => m.user_type === 'supervisor')).toBe(true);
    }
  });

  it('has several agents and groups, and tricky message texts', () => {
    const emails = new Set(all.flatMap((c) => (c['agents'] as Array<{ email: string }>).map((a) => a.email)));
    expect(emails.size).toBe(6);
    expect(new Set(all.map((c) => (c['group'] as number[])[0])).size).toBe(4);
    const texts = all.flatMap((c) => (c['messages'] as Array<{ text: string }>).map((m) => m.text));
    expect(texts.some((t) => t.includes('\n'))).toBe(true);
    expect(texts.some((t) => t.includes('"'))).toBe(true);
    expect(texts.some((t) => t.includes('\\'))).toBe(true);
    expect(texts.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    expect(texts.some((t) => /[\u3040-\u30ff\u4e00-\u9fff]/.test(t))).toBe(true);
    expect(texts.some((t) => /[À-ž]/.test(t))).toBe(true);
    expect(all.some((c) => c.type === 'missed_chat')).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// faults
// ---------------------------------------------------------------------------

describe('scripted faults', () => {
  const D = '2024-03-05';
  const q = { date_from: D, date_to: D };

  it('429 with and without Retry-After, then normal service', async () => {
    const s = await sim({
      from: D,
      to: D,
      chatsPerDay: exactly(30),
      faults: {
        script: [{ fault: '429', retryAfterSeconds: 7 }, { fault: '429', retryAfterSeconds: null }, { fault: '429' }],
      },
    });
    const a = await raw(s, q);
    expect(a.status).toBe(429);
    expect(a.headers.get('retry-after')).toBe('7');
    await a.arrayBuffer();
    const b = await raw(s, q);
    expect(b.status).toBe(429);
    expect(b.headers.get('retry-after')).toBeNull();
    await b.arrayBuffer();
    const c = await raw(s, q);
    expect(c.status).toBe(429);
    expect(c.headers.get('retry-after')).toBe('1');
    await c.arrayBuffer();
    expect((await getPage(s, q)).total).toBe(30);
    expect(s.stats().faultsInjected['429']).toBe(3);
  });

  it('500, 502 and 503, each `times` times, matched by day and page, in order', async () => {
    const s = await sim({
      from: '2024-03-04',
      to: D,
      chatsPerDay: exactly(30),
      faults: {
        script: [{ day: D, page: 2, fault: '503', times: 2 }, { day: D, fault: '500' }, { fault: '502' }],
      },
    });
    // page 1 of another day: first two entries do not match, the third does
    const other = await raw(s, { date_from: '2024-03-04', date_to: '2024-03-04' });
    expect(other.status).toBe(502);
    expect(other.headers.get('content-type')).toMatch(/text\/html/);
    await other.arrayBuffer();
    const p1 = await raw(s, q);
    expect(p1.status).toBe(500);
    await p1.arrayBuffer();
    const p1b = await raw(s, q);
    expect(p1b.status).toBe(200);
    await p1b.arrayBuffer();
    for (let i = 0; i < 2; i++) {
      const p2 = await raw(s, { ...q, page: 2 });
      expect(p2.status).toBe(503);
      await p2.arrayBuffer();
    }
    expect((await getPage(s, { ...q, page: 2 })).chats).toHaveLength(5);
  });

  it('slow: the response comes after slowMs (a client timeout fires first)', async () => {
    const s = await sim({
      from: D,
      to: D,
      chatsPerDay: exactly(3),
      faults: { slowMs: 400, script: [{ fault: 'slow', times: 2 }] },
    });
    const t0 = performance.now();
    await expect(raw(s, q, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(350);
    const t1 = performance.now();
    const res = await raw(s, q);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Page).total).toBe(3);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(380);
  });

  it('malformed: 200 with a truncated JSON body', async () => {
    const s = await sim({ from: D, to: D, chatsPerDay: exactly(30), faults: { script: [{ fault: 'malformed' }] } });
    const res = await raw(s, q);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await res.text();
    expect(body.startsWith('{"chats":[')).toBe(true);
    expect(() => JSON.parse(body)).toThrow();
  });

  it('html: 200 then 502 with an HTML error page', async () => {
    const s = await sim({ from: D, to: D, chatsPerDay: exactly(3), faults: { script: [{ fault: 'html', times: 2 }] } });
    for (const status of [200, 502]) {
      const res = await raw(s, q);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/^<!DOCTYPE html>/);
    }
  });

  it('reset: the socket is destroyed without a response', async () => {
    const s = await sim({ from: D, to: D, chatsPerDay: exactly(3), faults: { script: [{ fault: 'reset' }] } });
    await expect(raw(s, q)).rejects.toThrow();
    expect((await getPage(s, q)).total).toBe(3);
    expect(s.stats().byStatus['reset']).toBe(1);
  });

  it('empty: 200 with chats: [] but the normal total/pages', async () => {
    const s = await sim({
      from: D,
      to: D,
      chatsPerDay: exactly(30),
      faults: { script: [{ fault: 'empty', page: 2 }] },
    });
    expect(await getPage(s, { ...q, page: 2 })).toEqual({ chats: [], total: 30, pages: 2 });
    expect((await getPage(s, { ...q, page: 2 })).chats).toHaveLength(5);
  });

  it('faults apply only after auth (a 401 does not consume the script)', async () => {
    const s = await sim({ from: D, to: D, chatsPerDay: exactly(3), faults: { script: [{ fault: '500' }] } });
    const unauth = await fetch(`${s.url}/chats`, { headers: { 'X-API-Version': '2' } });
    expect(unauth.status).toBe(401);
    await unauth.arrayBuffer();
    const res = await raw(s, q);
    expect(res.status).toBe(500);
    await res.arrayBuffer();
  });
});

describe('random faults', () => {
  it('rate429 = 1 makes every request a 429', async () => {
    const s = await sim({ chatsPerDay: exactly(3), faults: { rate429: 1, retryAfterSeconds: 2 } });
    for (let i = 0; i < 5; i++) {
      const res = await raw(s);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('2');
      await res.arrayBuffer();
    }
  });

  it('rate5xx = 1 mixes 500/502/503', async () => {
    const s = await sim({ chatsPerDay: exactly(3), faults: { rate5xx: 1 } });
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const res = await raw(s);
      statuses.add(res.status);
      await res.arrayBuffer();
    }
    expect([...statuses].sort()).toEqual([500, 502, 503]);
  });

  it('mixed rates are seeded: the same seed gives the same status sequence', async () => {
    const faults = { rate429: 0.15, rate5xx: 0.15, rateEmptyPage: 0.1, rateMalformed: 0.1, rateHtml: 0.1 };
    const run = async (seed: number) => {
      const s = await sim({ seed, chatsPerDay: exactly(30), faults });
      const out: string[] = [];
      for (let i = 0; i < 40; i++) {
        const res = await raw(s);
        const body = await res.text();
        out.push(`${res.status}:${body.length}`);
      }
      return out;
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(a.filter((x) => x.startsWith('200')).length).toBeGreaterThan(5);
    expect(a.filter((x) => !x.startsWith('200')).length).toBeGreaterThan(5);
  });
});

// ---------------------------------------------------------------------------
// drift, rate limit, latency
// ---------------------------------------------------------------------------

describe('drift', () => {
  const D = '2024-03-06';
  const q = { date_from: D, date_to: D };

  it('adds chats to the day after N served requests and changes total', async () => {
    const s = await sim({
      from: D,
      to: D,
      chatsPerDay: exactly(30),
      faults: { drift: [{ day: D, afterRequests: 1, addChats: 4 }] },
    });
    const before = s.chats(D);
    const p1 = await getPage(s, q);
    expect(p1.total).toBe(30);
    expect(s.chats(D)).toHaveLength(34);
    const p2 = await getPage(s, { ...q, page: 2 });
    expect(p2.total).toBe(34);
    expect(p2.pages).toBe(2);
    // 'newest': the new chats are the front of the list; the old first page shifted by 4
    const after = s.chats(D);
    expect(ids(after.slice(4))).toEqual(ids(before));
    expect(ids(p2.chats)).toEqual(ids(after.slice(25)));
    for (const c of after.slice(0, 4)) expect(new Date(c.started_timestamp * 1000).toISOString().slice(0, 10)).toBe(D);
    // only once by default
    await getPage(s, q);
    expect(s.chats(D)).toHaveLength(34);
    expect(s.stats().faultsInjected['drift']).toBe(1);
  });

  it('repeats `times` times every `afterRequests` requests; other days do not count', async () => {
    const s = await sim({
      from: '2024-03-05',
      to: D,
      chatsPerDay: exactly(10),
      faults: { drift: [{ day: D, afterRequests: 2, addChats: 1, times: 2 }] },
    });
    const lengths: number[] = [];
    await getPage(s, { date_from: '2024-03-05', date_to: '2024-03-05' });
    for (let i = 0; i < 6; i++) {
      await getPage(s, q);
      lengths.push(s.chats(D).length);
    }
    expect(lengths).toEqual([10, 11, 11, 12, 12, 12]);
  });

  it("position 'random' inserts inside the day, in the middle of the list, ending late", async () => {
    const s = await sim({ from: D, to: D, chatsPerDay: exactly(40) });
    const before = s.chats(D);
    const latestEnd = Math.max(...before.map((c) => c['ended_timestamp'] as number));
    const added = s.addChats(D, 5, 'random');
    expect(added).toHaveLength(5);
    const after = s.chats(D);
    expect(after).toHaveLength(45);
    const positions = added.map((c) => ids(after).indexOf(c.id));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect(positions.some((p) => p > 0 && p < 44)).toBe(true);
    for (const c of added) {
      expect(c.started_timestamp).toBeGreaterThanOrEqual(before[before.length - 1]!.started_timestamp);
      expect(c.started_timestamp).toBeLessThanOrEqual(before[0]!.started_timestamp);
      expect(c['ended_timestamp'] as number).toBeGreaterThan(latestEnd);
      expect(before.some((b) => b.id === c.id)).toBe(false);
    }
    const page = await getAll(s, q);
    expect(page.total).toBe(45);
    expect(ids(page.chats)).toEqual(ids(after));
  });

  it('drifted chats are deterministic (seed + day + counter)', async () => {
    const a = await sim({ from: D, to: D, chatsPerDay: exactly(5) });
    const b = await sim({ from: D, to: D, chatsPerDay: exactly(5) });
    expect(portless(a, a.addChats(D, 3, 'newest'))).toEqual(portless(b, b.addChats(D, 3, 'newest')));
    expect(portless(a, a.addChats(D, 2, 'random'))).toEqual(portless(b, b.addChats(D, 2, 'random')));
    expect(portless(a, a.chats(D))).toEqual(portless(b, b.chats(D)));
    const c = await sim({ from: D, to: D, chatsPerDay: exactly(5), seed: 99 });
    expect(ids(c.addChats(D, 3))).not.toEqual(ids(a.chats(D).slice(0, 3)));
  });
});

describe('rate limit and latency', () => {
  it('rateLimitPerSecond: a burst over the limit gets 429 with Retry-After: 1', async () => {
    const s = await sim({ chatsPerDay: exactly(3), faults: { rateLimitPerSecond: 5 } });
    const responses = await Promise.all(Array.from({ length: 15 }, () => raw(s)));
    const statuses = responses.map((r) => r.status);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((x) => x === 200).length).toBeLessThanOrEqual(6);
    const limited = responses.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(9);
    for (const r of limited) expect(r.headers.get('retry-after')).toBe('1');
    // the bucket refills
    await new Promise((r) => setTimeout(r, 450));
    const res = await raw(s);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  });

  it('latencyMs is added to every response', async () => {
    const s = await sim({ chatsPerDay: exactly(3), latencyMs: 150 });
    let t0 = performance.now();
    await (await raw(s)).arrayBuffer();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    t0 = performance.now();
    await (await fetch(`${s.url}/nope`)).arrayBuffer();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('close() does not wait for pending slow responses', async () => {
    const s = await startSimulator({
      from: '2024-03-01',
      to: '2024-03-01',
      chatsPerDay: exactly(1),
      faults: { rateSlow: 1, slowMs: 60_000 },
    });
    const pending = raw(s).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
