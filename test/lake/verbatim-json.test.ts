import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { encodeNdjson } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { redaction } from '#privacy/redaction.ts';
import { writePrivacy } from '#privacy/write-privacy.ts';
import type { PageTask } from '#shared/archive-task.ts';
import { objectSpansOfTopLevelArray, rememberVerbatimElements, verbatimJsonOf } from '#shared/verbatim-json.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { archivePage } from '#sources/v2/page-archiver.ts';

/**
 * A chat is stored as the bytes the API sent for it (functions/shared/verbatim-json.ts): the page
 * writer copies them instead of serializing the parsed chat again, wherever that gives the same
 * record, and serializes it as before wherever it would not.
 */
const NASTY = ['a } "quoted" {', 'back\\slash\\', '\\"', '[', ']', 'é ñ 中文 🚀', '\u2028', '\t', ''];

function parsedSpans(text: string, key: string): unknown[] | undefined {
  const body = Buffer.from(text, 'utf8');
  return objectSpansOfTopLevelArray(body, key)?.map((span) =>
    JSON.parse(body.subarray(span.start, span.end).toString()),
  );
}

describe('the spans of a top-level array', () => {
  it('finds every element of the array under the key, whatever its strings hold', () => {
    const chats = NASTY.map((text, index) => ({
      id: `C${index}`,
      text,
      nested: { chats: [{ text }], list: [[text]] },
    }));
    const document = { pages: 1, chats, total: chats.length, after: { chats: [] } };
    expect(parsedSpans(JSON.stringify(document), 'chats')).toEqual(chats);
    // Whitespace between tokens, keys in another order, the key's name inside strings and values.
    const spaced = `{ "chats" : "chats" , "x" : [ {"chats":1} ] ,\t"chats" :\t[ ${chats.map((chat) => JSON.stringify(chat)).join(' , ')} ] }`;
    expect(parsedSpans(spaced, 'chats')).toEqual(chats);
    expect(parsedSpans('{"chats":[]}', 'chats')).toEqual([]);
    expect(parsedSpans('{"chats":[{},{ }]}', 'chats')).toEqual([{}, {}]);
  });

  it('finds nothing where the array is missing, holds something other than objects, or the document is not an object', () => {
    expect(parsedSpans('{"total":1}', 'chats')).toBeUndefined();
    expect(parsedSpans('{"other":[{"a":1}]}', 'chats')).toBeUndefined();
    expect(parsedSpans('{"chats":{"a":[{"b":1}]}}', 'chats')).toBeUndefined();
    for (const element of ['"x"', '1', '-1', 'true', 'false', 'null', '[]']) {
      expect(parsedSpans(`{"chats":[{"a":1},${element}]}`, 'chats')).toBeUndefined();
    }
    expect(parsedSpans('["chats",[{"a":1}]]', 'chats')).toBeUndefined();
  });

  it('tells which elements hold a number JSON.stringify would write otherwise', () => {
    const body = Buffer.from(
      '{"chats":[{"a":1562,"b":-3,"c":4.5,"d":1e-7,"e":true},{"a":1562.0},{"a":1E3},{"a":0.50},{"a":-0}]}',
    );
    expect(objectSpansOfTopLevelArray(body, 'chats')?.map((span) => span.numbersAsStringified)).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('remembering the bytes of parsed elements', () => {
  it('remembers each element that one NDJSON line can hold as sent', () => {
    const text = '{"chats":[{"id":"A","t":"\\u00e9\\/"} , {"id":"B",\n"t":1},{"id":"C","n":2.50}],"total":3}';
    const body = Buffer.from(text);
    const { chats } = JSON.parse(text) as { chats: object[] };
    rememberVerbatimElements(body, 'chats', chats);
    expect(Buffer.from(verbatimJsonOf(chats[0]!)!).toString()).toBe('{"id":"A","t":"\\u00e9\\/"}');
    expect(verbatimJsonOf(chats[1]!)).toBeUndefined(); // a line break between its tokens
    expect(verbatimJsonOf(chats[2]!)).toBeUndefined(); // 2.50 is written 2.5
  });

  it('remembers nothing of a body that is not UTF-8 or that does not line up with the parsed elements', () => {
    const broken = Buffer.concat([Buffer.from('{"chats":[{"t":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const parsed = JSON.parse(broken.toString('utf8')) as { chats: object[] };
    rememberVerbatimElements(broken, 'chats', parsed.chats);
    expect(verbatimJsonOf(parsed.chats[0]!)).toBeUndefined();

    const body = Buffer.from('{"chats":[{"id":"A"},{"id":"B"}]}');
    const one = [{ id: 'A' }];
    rememberVerbatimElements(body, 'chats', one);
    expect(verbatimJsonOf(one[0]!)).toBeUndefined();
  });

  it('encodes a remembered record as its bytes, the archiver fields appended, and any other as JSON.stringify does', () => {
    const text = '{"chats":[{ "id" : "A", "t":"\\u00e9" },{ },{"id":"C","n":1.0}]}';
    const { chats } = JSON.parse(text) as { chats: object[] };
    rememberVerbatimElements(Buffer.from(text), 'chats', chats);
    const copy = { ...chats[0] };
    const { text: ndjson } = encodeNdjson([...chats, copy], { _run_id: 'r', _page: 2 });
    expect(ndjson.toString().split('\n')).toEqual([
      '{ "id" : "A", "t":"\\u00e9" ,"_run_id":"r","_page":2}',
      '{ "_run_id":"r","_page":2}',
      '{"id":"C","n":1,"_run_id":"r","_page":2}',
      '{"id":"A","t":"é","_run_id":"r","_page":2}',
      '',
    ]);
    for (const line of ndjson.toString().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('a page archived through the v2 client keeps the bytes LiveChat sent', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  // Escapes, digits beyond a double's precision, whitespace: what a serializer other than V8's writes.
  const SENT = [
    '{"id":"A1","type":"chat","visitor":{"name":"J\\u00e9r\\u00f4me \\/ \\"Jay\\""},"big":12345678901234567890 }',
    '{"id":"B2","type":"chat","visitor":{"name":"Bea"},"rate":"good","duration":1562.0}',
    '{"id":"C3","type":"chat","visitor":{"name":"Cy","ip":"10.0.0.1"},"messages":[{"text":"hi"}]}',
  ];

  async function serve(): Promise<string> {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"chats":[${SENT.join(' , ')}],"total":3,"pages":1}`);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  }

  it('as sent where nothing changes the chat; serialized where a number, a redaction or a set-aside value does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verbatim-'));
    const client = createLivechatClient({ apiUrl: await serve(), credentials: { kind: 'bearer', token: 't' } });
    const task: PageTask = {
      v: 1,
      kind: 'page',
      plan: 'p1',
      runId: 'run-1',
      day: '2026-03-10',
      attempt: 1,
      filters: {},
      timeZone: 'UTC',
      page: 1,
      pages: 1,
      total: 3,
    };
    const privacy = writePrivacy(ErasedVisitors.none, redaction({ fields: ['visitor.ip'] }));
    const outcome = await archivePage(task, {
      client,
      sink: new LocalFileSink(dir),
      now: () => new Date('2026-03-11T00:00:00.000Z'),
      privacy: { ...privacy, redact: (chat) => ((chat as { id?: string }).id === 'C3' ? privacy.redact(chat) : chat) },
    });
    expect(outcome.status).toBe('written');
    const lines = gunzipSync(await readFile(join(dir, (outcome as { key: string }).key)))
      .toString()
      .trimEnd()
      .split('\n');
    const version = '"_run_id":"run-1","_archived_at":"2026-03-11T00:00:00.000Z","_page":1}';
    expect(lines[0]).toBe(`${SENT[0]!.slice(0, -1)},${version}`);
    expect(lines[0]).toContain('12345678901234567890');
    expect(JSON.parse(lines[1]!)).toMatchObject({ id: 'B2', duration: 1562 });
    expect(lines[1]).toContain('"duration":1562,');
    expect(lines[2]).not.toContain('10.0.0.1');
    expect(JSON.parse(lines[2]!)).toMatchObject({ id: 'C3', messages: [{ text: 'hi' }] });

    // DuckDB reads the escapes as LiveChat meant them.
    const lake = await openLocalLake(dir);
    try {
      const rows = await lake.query('SELECT id, visitor.name AS name, duration FROM chats ORDER BY id');
      expect(rows).toEqual([
        { id: 'A1', name: 'Jérôme / "Jay"', duration: null },
        { id: 'B2', name: 'Bea', duration: 1562 },
        { id: 'C3', name: 'Cy', duration: null },
      ]);
    } finally {
      await lake.close();
    }
  });
});
