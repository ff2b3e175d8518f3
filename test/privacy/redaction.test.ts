import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseArchiveArgs } from '#cli/archive-args.ts';
import { findSchemaViolations } from '#lake/chat-columns.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { redaction } from '#privacy/redaction.ts';
import { luhnValid, maskText } from '#privacy/text-masks.ts';
import { writePrivacy } from '#privacy/write-privacy.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { writePage } from '#sources/v2/page-archiver.ts';
import { SEED_CHAT } from '#test/lake/fixtures/seed-chat.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';

const ALL = new Set(['cards', 'emails', 'phones'] as const);

describe('text masks', () => {
  it.each([
    ['card 4111 1111 1111 1111, thanks', 'card [card ****1111], thanks'],
    ['card 4111-1111-1111-1111 exp 12/27', 'card [card ****1111] exp 12/27'],
    ['pay with 5555555555554444 please', 'pay with [card ****4444] please'],
    ['amex 3782 822463 10005', 'amex [card ****0005]'],
    ['order 12345 4111111111111111 ok', 'order 12345 [card ****1111] ok'],
    ['write to Ann.Lee@Example.com.', 'write to [email].'],
    ['call +48 600 700 800 or (555) 123-4567', 'call [phone] or [phone]'],
    ['555-123-4567, 06.12.34.56.78, +48600700800, 0048 600 700 800', '[phone], [phone], [phone], [phone]'],
  ])('%j → %j', (text, masked) => {
    expect(maskText(text, ALL)).toBe(masked);
  });

  it.each([
    'not a card: 4111 1111 1111 1112 (Luhn fails)',
    'order #20054 costs 199.00 on 2026-11-24 at 11:40:53, 3–5 days, 1 000 items',
    'visitor S1355415390.49b8940793, form id 13589376348060238, ref 600700800',
    'server 192.168.100.200',
  ])('leaves %j alone', (text) => {
    expect(maskText(text, ALL)).toBe(text);
  });

  it('masks only the kinds switched on, the same way every time', () => {
    const text = 'card 4111 1111 1111 1111, mail a@b.co, phone +48 600 700 800';
    expect(maskText(text, new Set(['cards']))).toBe('card [card ****1111], mail a@b.co, phone +48 600 700 800');
    expect(maskText(text, new Set(['emails']))).toBe('card 4111 1111 1111 1111, mail [email], phone +48 600 700 800');
    expect(maskText(text, new Set(['phones']))).toBe('card 4111 1111 1111 1111, mail a@b.co, phone [phone]');
    expect(maskText(text, ALL)).toBe(maskText(text, ALL));
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});

describe('record redaction', () => {
  // The seed's example chat (shared/seed/livechat-rest-api-v2-list-chats.txt) with the documented
  // visitor{} object and flat visitor_ip (shared/notes/livechat-api-facts.md, section 1).
  const chat = {
    ...SEED_CHAT,
    visitor: { id: 'S1355415390.49b8940793', name: 'Mary Brown', ip: '85.1.2.3', city: 'Hong Kong' },
    visitor_ip: '85.1.2.3',
    postchat_survey: [{ key: 'Comments', value: 'my card is 4111 1111 1111 1111', id: '1' }],
    messages: [
      ...SEED_CHAT.messages,
      { author_name: 'Mary Brown', text: 'mail mary@email.com or call +1 415 555 2671', user_type: 'visitor' },
    ],
  };

  it('drops listed fields (through arrays), masks free text only, and leaves the original untouched', () => {
    const rules = redaction({
      fields: ['visitor.ip', 'visitor_ip', 'messages.agent_id'],
      mask: ['cards', 'emails', 'phones'],
    });
    const stored = rules.redact(chat) as typeof chat;
    expect(stored.visitor).toEqual({ id: 'S1355415390.49b8940793', name: 'Mary Brown', city: 'Hong Kong' });
    expect('visitor_ip' in stored).toBe(false);
    expect(stored.messages.some((message) => 'agent_id' in message)).toBe(false);
    expect(stored.messages.at(-1)!.text).toBe('mail [email] or call [phone]');
    expect(stored.postchat_survey[0]!.value).toBe('my card is [card ****1111]');
    expect(stored.integration_variables.find((v) => v.key === 'facebook.email')!.value).toBe('[email]');
    // Not free text: agents' e-mails, ids and dates stay.
    expect(stored.agents).toEqual(chat.agents);
    expect(stored.id).toBe(chat.id);
    expect(stored.started).toBe(chat.started);
    expect(chat.visitor.ip).toBe('85.1.2.3');
  });

  it('with no rule, stores the record itself', () => {
    const rules = redaction();
    expect(rules.active).toBe(false);
    expect(rules.redact(chat)).toBe(chat);
  });

  it('the page writer stores redacted chats and drops none without erasures', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const sink = new LocalFileSink(out);
    const privacy = writePrivacy(ErasedVisitors.none, redaction({ fields: ['visitor.ip'], mask: ['cards'] }));
    const task = {
      v: 1,
      kind: 'page',
      plan: 'p1',
      runId: 'r',
      day: '2013-01-23',
      page: 1,
      pages: 1,
      attempt: 1,
      total: 1,
      filters: {},
      timeZone: 'UTC',
    } as const;
    const outcome = await writePage(task, { chats: [chat], total: 1, pages: 1 }, { sink, privacy });
    expect(outcome).toMatchObject({ status: 'written', chats: 1, dropped: 0 });
    const [stored] = await decodeNdjsonGzip<typeof chat>(
      (await sink.get('chats/dt=2013-01-23/run=r.attempt-1.p1.page-00001.json.gz'))!,
    );
    expect(stored!.visitor.ip).toBeUndefined();
    expect(stored!.postchat_survey[0]!.value).toBe('my card is [card ****1111]');
  });
});

describe('--redact and --redact-field', () => {
  let sim: RunningSimulator | undefined;
  let v36: RunningV36Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    await v36?.close();
    sim = undefined;
    v36 = undefined;
  });

  it('parse into one redaction setting; a bad kind or path is one clear error', () => {
    const args = parseArchiveArgs([
      '--from',
      '2026-01-01',
      '--to',
      '2026-01-01',
      '--redact',
      'cards,emails',
      '--redact-field',
      'visitor.ip',
      '--redact-field',
      'visitor_ip',
    ]);
    expect(args.redaction).toEqual({ mask: ['cards', 'emails'], fields: ['visitor.ip', 'visitor_ip'] });
    expect(parseArchiveArgs(['--from', '2026-01-01', '--to', '2026-01-01']).redaction).toBeUndefined();
    expect(() => parseArchiveArgs(['--from', '2026-01-01', '--redact', 'cards,ssn'])).toThrow(
      new InvalidInputError('--redact takes a comma-separated list of cards, emails, phones, got "cards,ssn"'),
    );
    expect(() => parseArchiveArgs(['--from', '2026-01-01', '--redact-field', 'visitor ip'])).toThrow(
      new InvalidInputError('--redact-field takes a dotted field path such as visitor.ip, got "visitor ip"'),
    );
  });

  it('an archive run stores no e-mail address and no dropped field; the strict lake schema still reads it', async () => {
    sim = await startSimulator({ from: '2026-02-02', to: '2026-02-03', chatsPerDay: 60, seed: 3 });
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const result = await runArchiveCli(
      [
        '--from',
        '2026-02-02',
        '--to',
        '2026-02-03',
        '--out',
        out,
        '--api-url',
        sim.url,
        '--redact',
        'emails,phones,cards',
        '--redact-field',
        'custom_variables',
      ],
      { LIVECHAT_LOGIN: sim.login, LIVECHAT_API_KEY: sim.apiKey },
    );
    expect(result.code).toBe(0);
    const visitorEmails = sim
      .allChats()
      .flatMap((chat) => (chat['prechat_survey'] ?? []) as Array<{ key: string; value: string }>)
      .filter((answer) => answer.key === 'E-mail:' && answer.value);
    expect(visitorEmails.length).toBeGreaterThan(0);
    let records = 0;
    for (const file of (await listFiles(out)).filter((name) => name.endsWith('.json.gz'))) {
      for (const record of await decodeNdjsonGzip<Record<string, unknown>>(await readFile(join(out, file)))) {
        records += 1;
        expect(record['custom_variables']).toBeUndefined();
        const survey = (record['prechat_survey'] ?? []) as Array<{ key: string; value: string }>;
        for (const answer of survey.filter((a) => a.key === 'E-mail:' && a.value)) expect(answer.value).toBe('[email]');
        expect(findSchemaViolations(record)).toEqual([]);
      }
    }
    expect(records).toBe(sim.allChats().length);
    const lake = await openLocalLake(out, { strict: true });
    try {
      const [row] = await lake.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM chats');
      expect(row!.n).toBe(records);
    } finally {
      await lake.close();
    }
  });

  it('v3.6: no visitor e-mail from a form answer is stored in either table, and both still read strictly', async () => {
    v36 = await startV36Simulator({ from: '2026-02-02', to: '2026-02-03', chatsPerDay: 40, seed: 4 });
    const out = await mkdtemp(join(tmpdir(), 'lake-v36-'));
    const result = await runArchiveCli(
      [
        '--from',
        '2026-02-02',
        '--to',
        '2026-02-03',
        '--out',
        out,
        '--api-url',
        v36.url,
        '--source',
        'v3.6',
        '--redact',
        'emails',
      ],
      { LIVECHAT_ACCOUNT_ID: v36.accountId, LIVECHAT_PAT: v36.token },
    );
    expect(result.code).toBe(0);
    const addresses = ['2026-02-02', '2026-02-03']
      .flatMap((day) => v36!.chats(day))
      .flatMap((chat) => (chat['prechat_survey'] ?? []) as Array<{ key: string; value: string }>)
      .filter((answer) => answer.key === 'E-mail:' && answer.value)
      .map((answer) => answer.value.toLowerCase());
    expect(addresses.length).toBeGreaterThan(0);
    const files = (await listFiles(out)).filter((name) => name.endsWith('.json.gz'));
    expect(files.some((name) => name.startsWith('archives/'))).toBe(true);
    for (const file of files) {
      const text = gunzipSync(await readFile(join(out, file)))
        .toString('utf8')
        .toLowerCase();
      for (const address of addresses) expect(text, file).not.toContain(address);
    }
    const lake = await openLocalLake(out, { strict: true });
    try {
      const [threads] = await lake.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM chat_threads');
      const [chats] = await lake.query<{ n: number }>('SELECT count(*)::INTEGER AS n FROM chats');
      expect(threads!.n).toBe(chats!.n);
      expect(chats!.n).toBeGreaterThan(0);
    } finally {
      await lake.close();
    }
  });
});
