import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { fromLakeRecord } from '#lake/lossless-record.ts';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { THREAD_SCHEMA } from '#lake/thread-columns.ts';
import { runArchive } from '#pipeline/archive-run.ts';
import type { SliceTask } from '#shared/archive-task.ts';
import { LivechatResponseError } from '#shared/errors.ts';
import type { RetryEvent } from '#sources/retrying-api.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { v36Source } from '#sources/v36/v36-source.ts';
import {
  chatExampleEntry,
  documentedListArchivesResponse,
  threadExampleEntry,
} from '#test/support/documented-archives.ts';

type Json = Record<string, unknown>;
const EXAMPLE_DAY = '2026-05-01'; // the List Archives example, then a page with chat.json and every event type
const THREAD_DAY = '2026-05-02'; // thread.json with the documented customer and agent

/** A list_archives endpoint over fixed pages: the first request of a day gets `first[day]`, a page_id its page. */
function fakeListArchives(first: Record<string, Json>, byPageId: Record<string, Json>) {
  const bodies: Json[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    const body = (await request.json()) as Json;
    bodies.push(body);
    const pageId = body['page_id'] as string | undefined;
    const day = String((body['filters'] as Json | undefined)?.['from'] ?? '').slice(0, 10);
    const page = pageId ? byPageId[pageId] : first[day];
    return page
      ? new Response(JSON.stringify(page), { headers: { 'content-type': 'application/json' } })
      : new Response('{"error":{"type":"not_found","message":"no such page"}}', { status: 404 });
  };
  return { fetch: fetch as typeof globalThis.fetch, bodies };
}

function sourceOver(fetch: typeof globalThis.fetch, retries: RetryEvent[]) {
  const client = createArchivesClient({
    apiUrl: 'http://127.0.0.1:9',
    credentials: { kind: 'pat', accountId: 'account', token: 'token' },
    baseRetryDelayMs: 1,
    onRetry: (retry) => retries.push(retry),
    fetch,
  });
  return v36Source(client);
}

const sliceTask = (day: string, found: number): SliceTask => ({
  v: 1,
  kind: 'slice',
  plan: 'p1',
  runId: 'docs',
  day,
  timeZone: 'UTC',
  attempt: 1,
  filters: {},
  slice: 'day',
  slices: 1,
  found,
});

const example = documentedListArchivesResponse();
const NEXT = example['next_page_id'] as string;
// The example's next page: chat.json's thread with one event of every type. `next_page_id: null`
// ends the cursor as its omission does (issue #12, part 5).
const secondPage = { chats: [chatExampleEntry()], found_chats: example['found_chats'], next_page_id: null };
const threadPage = { chats: [threadExampleEntry()], found_chats: 1 };

async function archiveDocumented() {
  const out = await mkdtemp(join(tmpdir(), 'lake-docs-'));
  const retries: RetryEvent[] = [];
  const api = fakeListArchives({ [EXAMPLE_DAY]: example, [THREAD_DAY]: threadPage }, { [NEXT]: secondPage });
  const source = sourceOver(api.fetch, retries);
  const context = { sink: new LocalFileSink(out), now: () => new Date('2026-05-03T00:00:00Z') };
  const outcomes = [
    await source.runTask(sliceTask(EXAMPLE_DAY, 42), context),
    await source.runTask(sliceTask(THREAD_DAY, 1), context),
  ];
  return { out, retries, bodies: api.bodies, outcomes };
}

describe("LiveChat's documented v3.6 payloads: client → writer → strict DuckDB read", () => {
  it('accepts every documented structure and event type, follows next_page_id and stops at null without a retry', async () => {
    const { retries, bodies, outcomes } = await archiveDocumented();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['written', 'written']);
    expect(bodies.map((body) => ('page_id' in body ? 'page_id' : 'filters'))).toEqual([
      'filters',
      'page_id',
      'filters',
    ]);
    expect(retries).toEqual([]);
  });

  it('maps them onto the chats table, which a strict read accepts', async () => {
    const { out } = await archiveDocumented();
    const lake = await openLocalLake(out, { strict: true });
    try {
      const rows = await lake.query<Json>(
        `SELECT dt, id, type, agents, "group", prechat_survey, custom_variables, messages, rate FROM chats ORDER BY dt, id`,
      );
      expect(rows.map((row) => [row['dt'], row['id']])).toEqual([
        [EXAMPLE_DAY, 'K600PKZON8'],
        [EXAMPLE_DAY, 'QA37PVJ75B'],
        [THREAD_DAY, 'K600PKZON8'],
      ]);
      const [listExample, withEveryEvent, threadExample] = rows as [Json, Json, Json];
      expect(listExample).toMatchObject({ type: 'chat', group: [0], rate: 'not_rated' });
      expect(listExample['messages']).toEqual([expect.objectContaining({ text: 'Hello there', user_type: 'agent' })]);
      // filled_form answers: a string, {id, label} (radio), {id, group_id, label} (group chooser), checkbox `answers`.
      expect(withEveryEvent['prechat_survey']).toEqual([
        { key: 'Your name', value: 'Thomas Anderson', id: '154417206262603539' },
        { key: 'Your email', value: 't.anderson@example.com', id: '154417206262601584' },
        { key: 'Chat purpose', value: 'Support', id: '154417206262602571' },
        { key: 'Company industry', value: 'automotive, it', id: '154417206262604640' },
        { key: 'Choose department', value: 'Marketing', id: '154417206262605324' },
      ]);
      // The deleted-event stub (type message, deleted: true) carries no text and is not a message.
      expect((withEveryEvent['messages'] as Json[]).map((message) => message['text'])).toEqual(['hello there']);
      expect(threadExample['custom_variables']).toEqual([
        { key: 'custom_key', value: 'custom_value' },
        { key: 'another_custom_key', value: 'another_custom_value' },
      ]);
      expect(threadExample['group']).toEqual([1, 2]);
    } finally {
      await lake.close();
    }
  });

  it('keeps every documented entry whole in chat_threads, which a strict read accepts and queries', async () => {
    const { out } = await archiveDocumented();
    const served = [...(example['chats'] as Json[]), ...secondPage.chats, ...threadPage.chats];
    const stored: Json[] = [];
    for (const day of [EXAMPLE_DAY, THREAD_DAY]) {
      const dir = join(out, 'archives', `dt=${day}`);
      for (const file of (await readdir(dir)).sort()) {
        for (const record of await decodeNdjsonGzip<Json>(await readFile(join(dir, file)))) {
          const { _run_id, _archived_at, _page, ...entry } = record;
          stored.push(fromLakeRecord(entry, THREAD_SCHEMA));
        }
      }
    }
    expect(stored).toEqual(served);

    const lake = await openLocalLake(out, { strict: true });
    try {
      const rows = await lake.query<Json>(
        `SELECT dt, id, thread.id AS thread_id, thread.tags AS tags, thread.summary.text AS summary,
                thread.customer_visit.geolocation.city AS city,
                json_extract_string(thread.properties, '$.property_namespace.property_name') AS thread_property,
                list_transform(thread.events, lambda e: e.type) AS event_types,
                list_transform(users, lambda u: u.type) AS user_types
         FROM chat_threads ORDER BY dt, thread.id`,
      );
      expect(rows).toEqual([
        expect.objectContaining({ dt: EXAMPLE_DAY, id: 'PJ0MRSHTDG', thread_id: 'K600PKZON8', city: 'Wroclaw' }),
        expect.objectContaining({
          dt: EXAMPLE_DAY,
          thread_id: 'QA37PVJ75B',
          tags: ['support', 'positive feedback'],
          thread_property: 'property_value',
          event_types: [
            'filled_form',
            'message',
            'file',
            'filled_form',
            'form',
            'rich_message',
            'custom',
            'system_message',
            'system',
            'message',
          ],
        }),
        expect.objectContaining({ dt: THREAD_DAY, thread_id: 'K600PKZON8', user_types: ['customer', 'agent'] }),
      ]);
      expect(rows[0]!['summary']).toBe('• Agent greets with a short message.');
      // Free-form objects are JSON text: queryable, and whole.
      const [custom] = await lake.query<Json>(
        `SELECT json_extract_string(e.content, '$.custom.nested') AS nested, e.text_vars AS text_vars
         FROM (SELECT unnest(thread.events) AS e FROM chat_threads) WHERE e.type IN ('custom') `,
      );
      expect(custom).toEqual({ nested: 'json', text_vars: null });
    } finally {
      await lake.close();
    }
  });

  it('fails a body that parses but breaks the schema at once, in one line naming the JSON path', async () => {
    const broken = structuredClone(example) as { chats: Array<{ thread: Json }> };
    delete broken.chats[0]!.thread['created_at'];
    const retries: RetryEvent[] = [];
    const api = fakeListArchives({ [EXAMPLE_DAY]: broken }, {});
    const source = sourceOver(api.fetch, retries);
    const out = await mkdtemp(join(tmpdir(), 'lake-docs-'));
    const error = await source
      .runTask(sliceTask(EXAMPLE_DAY, 42), { sink: new LocalFileSink(out), now: () => new Date() })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatResponseError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /^LiveChat response of \/v3\.6\/agent\/action\/list_archives is not the documented shape: \$\.chats\[0\]\.thread\.created_at: .*expected string/,
    );
    expect(message).not.toContain('\n');
    expect(api.bodies).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('a local run reports that day failed with the same line after one request, and archives the other days', async () => {
    const broken = structuredClone(threadPage) as unknown as { chats: Array<{ thread: Json }> };
    broken.chats[0]!.thread['created_at'] = 'yesterday';
    const retries: RetryEvent[] = [];
    const api = fakeListArchives({ [EXAMPLE_DAY]: broken, [THREAD_DAY]: threadPage }, {});
    const out = await mkdtemp(join(tmpdir(), 'lake-docs-'));
    const manifest = await runArchive({
      runId: 'docs',
      days: [EXAMPLE_DAY, THREAD_DAY],
      source: sourceOver(api.fetch, retries),
      sink: new LocalFileSink(out),
      concurrency: 1,
      redeliveryDelayMs: 1,
    });
    expect(manifest.days.map((day) => day.status)).toEqual(['failed', 'complete']);
    expect(manifest.days[0]!.problem).toMatch(/is not the documented shape: \$\.chats\[0\]\.thread\.created_at: /);
    expect(
      api.bodies.filter((body) => (body['filters'] as Json)['from'] === `${EXAMPLE_DAY}T00:00:00.000000Z`),
    ).toHaveLength(1);
    expect(retries).toEqual([]);
  });
});
