import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readDayPartition, settleDayPartition } from '#lake/day-consolidation.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { CHATS_PREFIX, passFileKey } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { fileRefsOfDay } from '#pipeline/archive-files.ts';
import { type PageTask, TASK_VERSION } from '#shared/archive-task.ts';
import { ChatStore, startSimulator } from '#simulator/index.ts';
import { v2FileRefs } from '#sources/v2/attachment-refs.ts';
import type { ChatList } from '#sources/v2/livechat-schema.ts';
import { writePage } from '#sources/v2/page-archiver.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

// Issue 22, point 5: settling a day reuses what the page writes produced (no second gzip of a page
// whose every chat is kept, no second parse of lines this process wrote), and loses nothing.
const DAY = '2024-03-01';
const PASS = { runId: 'run-1', attempt: 1, plan: 'p1' };
const never = () => false;
const chats = new ChatStore({ seed: 9, from: DAY, to: DAY, chatsPerDay: () => 60 }).dayChats(DAY);

afterEach(() => vi.restoreAllMocks());

async function lake() {
  const dir = await mkdtemp(join(tmpdir(), 'settle-reuse-'));
  return { dir, sink: new LocalFileSink(dir) };
}

function pageTask(page: number): PageTask {
  return {
    v: TASK_VERSION,
    kind: 'page',
    plan: PASS.plan,
    runId: PASS.runId,
    day: DAY,
    attempt: PASS.attempt,
    filters: {},
    timeZone: 'UTC',
    page,
    pages: 3,
    total: chats.length,
  };
}

/** The day's three pages written as a page task writes them. */
async function writeDay(sink: LakeSink): Promise<string[]> {
  const keys: string[] = [];
  for (const page of [1, 2, 3]) {
    const list = {
      total: chats.length,
      pages: 3,
      chats: chats.slice((page - 1) * 25, page * 25),
    } as unknown as ChatList;
    const outcome = await writePage(pageTask(page), list, { sink, fetchedAt: new Date('2024-03-02T04:00:00Z') });
    if (outcome.status !== 'written') throw new Error(outcome.reason);
    keys.push(outcome.key);
  }
  return keys;
}

async function settledBodies(sink: LakeSink): Promise<Buffer[]> {
  const keys = (await sink.list(`${CHATS_PREFIX}dt=${DAY}/`)).filter((key) => key.includes('/settled-'));
  return Promise.all(keys.map(async (key) => Buffer.from((await sink.get(key))!)));
}

/** How many gzip members (RFC 1952, 2.2) `body` is: each member's header, deflate stream and trailer in turn. */
function gzipMembers(body: Buffer): number {
  let members = 0;
  for (let at = 0; at < body.length; members += 1) {
    if (body[at] !== 0x1f || body[at + 1] !== 0x8b) throw new Error(`no gzip member at byte ${at}`);
    const flags = body[at + 3]!;
    let start = at + 10;
    if (flags & 4) start += 2 + body.readUInt16LE(start); // FEXTRA
    for (const flag of [8, 16]) if (flags & flag) start = body.indexOf(0, start) + 1; // FNAME, FCOMMENT
    if (flags & 2) start += 2; // FHCRC
    const { engine } = inflateRawSync(body.subarray(start), { info: true }) as unknown as {
      engine: { bytesWritten: number };
    };
    at = start + engine.bytesWritten + 8; // CRC32 and ISIZE
  }
  return members;
}

describe('settling reuses the page writes', () => {
  it('copies pages whose every chat is kept as gzip members, without parsing their lines again; DuckDB reads every chat', async () => {
    const { dir, sink } = await lake();
    const keys = await writeDay(sink);
    const pages = await Promise.all(keys.map(async (key) => Buffer.from((await sink.get(key))!)));
    const parse = vi.spyOn(JSON, 'parse');
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
    const settled = await settleDayPartition(sink, partition, never, new Set(chats.map((chat) => chat.id)));
    expect(settled).toMatchObject({ chats: chats.length, kept: 0, deleted: keys });

    const [body, ...more] = await settledBodies(sink);
    expect(more).toEqual([]);
    expect(body!.equals(Buffer.concat(pages))).toBe(true);
    expect(gzipMembers(body!)).toBe(3);
    const lines = (await decodeNdjsonGzip(body!)).map((row) => row['id']);
    expect(lines).toEqual(chats.map((chat) => chat.id));

    // The strict view checks every line of every member against the lake schema.
    const lakeDb = await openLocalLake(dir, { strict: true });
    try {
      const [row] = await lakeDb.query('SELECT count(*) AS n, count(DISTINCT id) AS ids FROM chats');
      expect(row).toEqual({ n: chats.length, ids: chats.length });
    } finally {
      await lakeDb.close();
    }
  });

  it("finds the files of the chats it wrote without parsing them again, the same as from the pages' bytes", async () => {
    const { sink } = await lake();
    await writeDay(sink);
    const expected = chats.flatMap((chat) => v2FileRefs(chat as unknown as Record<string, unknown>));
    expect(expected.length).toBeGreaterThan(0);
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    const parse = vi.spyOn(JSON, 'parse');
    const found = fileRefsOfDay(V2_SOURCE, partition, undefined);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
    expect(found).toHaveLength(expected.length);
    // With an erasure on record, every row that may point to a file is read from its line (the check needs the record).
    const fromLines = fileRefsOfDay(V2_SOURCE, partition, () => false);
    expect(fromLines).toEqual(found);
    expect(fileRefsOfDay(V2_SOURCE, partition, (record) => record['id'] === expected[0]!.chatId)).toHaveLength(
      found.filter((ref) => ref.chatId !== expected[0]!.chatId).length,
    );
  });

  it('reads a page from its bytes when it is not what this process wrote (rewritten since), and compresses again only what is not kept whole', async () => {
    const { sink } = await lake();
    const keys = await writeDay(sink);
    // Page 2 rewritten by another writer after this process wrote it: one chat changed.
    const changed = { ...chats[30]!, rate: 'rated_bad' };
    const page2 = chats.slice(25, 50).map((chat) => (chat.id === changed.id ? changed : chat));
    await sink.put(
      keys[1]!,
      await encodeNdjsonGzip(page2, { _run_id: 'run-1', _archived_at: '2024-03-02T04:00:00.000Z', _page: 2 }),
      'ndjson-gzip',
    );
    // And an older copy of a chat of page 1, from an earlier run: page 1 stays whole, the older copy goes.
    await sink.put(
      passFileKey(DAY, { runId: 'run-0', attempt: 1, plan: 'p0' }, 'page-00001'),
      await encodeNdjsonGzip([chats[0]!], { _run_id: 'run-0', _archived_at: '2024-03-01T04:00:00.000Z', _page: 1 }),
      'ndjson-gzip',
    );
    const pages = await Promise.all(keys.map(async (key) => Buffer.from((await sink.get(key))!)));
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    await settleDayPartition(sink, partition, never, new Set(chats.map((chat) => chat.id)));

    const bodies = await settledBodies(sink);
    expect(bodies).toHaveLength(1);
    const stored = await decodeNdjsonGzip(bodies[0]!);
    expect(stored.map((row) => row['id']).sort()).toEqual(chats.map((chat) => chat.id).sort());
    expect(stored.find((row) => row['id'] === changed.id)).toMatchObject({ rate: 'rated_bad' });
    expect(stored.find((row) => row['id'] === chats[0]!.id)).toMatchObject({ _run_id: 'run-1' });
    // Every page is kept whole (the rewritten one too, read from its bytes); the older copy is not.
    expect(bodies[0]!.equals(Buffer.concat(pages))).toBe(true);
    expect(await readFile(join(sink.location, keys[0]!)).catch(() => undefined)).toBeUndefined();
  });

  it('compresses again the lines of a page it wrote when one of its chats has a newer copy, each line as the page had it', async () => {
    const { sink } = await lake();
    const keys = await writeDay(sink);
    const linesOf = (body: Uint8Array) => gunzipSync(body).toString('utf8').split('\n');
    const page1 = linesOf((await sink.get(keys[0]!))!).filter((line) => line !== '');
    // A newer fetch of one chat of page 1 (a later run): page 1 is no longer kept whole.
    const newer = { ...chats[5]!, rate: 'rated_good' };
    await sink.put(
      passFileKey(DAY, { runId: 'run-2', attempt: 1, plan: 'p2' }, 'page-00001'),
      await encodeNdjsonGzip([newer], { _run_id: 'run-2', _archived_at: '2024-03-03T04:00:00.000Z', _page: 1 }),
      'ndjson-gzip',
    );
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    await settleDayPartition(sink, partition, never, new Set(chats.map((chat) => chat.id)));

    // Byte for byte: every line of page 1 but the older copy, one line each, no empty line but the last.
    const settledLines = (await settledBodies(sink)).flatMap((body) => linesOf(body).slice(0, -1));
    expect(settledLines).not.toContain('');
    const stored = settledLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stored.map((row) => row['id']).sort()).toEqual(chats.map((chat) => chat.id).sort());
    expect(stored.find((row) => row['id'] === newer.id)).toMatchObject({ rate: 'rated_good', _run_id: 'run-2' });
    const rest = page1.filter((line) => !line.includes(`"id":"${newer.id}"`));
    expect(rest).toHaveLength(24);
    for (const line of rest) expect(settledLines).toContain(line);
  });

  it('splits a day into settled files of at most 5 000 rows, whole pages and re-compressed lines alike', async () => {
    const { sink } = await lake();
    const many = Array.from({ length: 5_010 }, (_, index) => ({ id: `c${index}`, n: index }));
    for (let page = 0; page * 25 < many.length; page += 1) {
      await sink.put(
        passFileKey(DAY, PASS, `page-${String(page + 1).padStart(5, '0')}`),
        await encodeNdjsonGzip(many.slice(page * 25, page * 25 + 25), {
          _run_id: 'run-1',
          _archived_at: '2024-03-02T04:00:00.000Z',
          _page: page + 1,
        }),
        'ndjson-gzip',
      );
    }
    // One chat twice on the last page: that page is compressed again, with one copy.
    await sink.put(
      passFileKey(DAY, PASS, 'page-99999'),
      await encodeNdjsonGzip([many[5_009]!, many[5_009]!], {
        _run_id: 'run-1',
        _archived_at: '2024-03-02T05:00:00.000Z',
        _page: 99_999,
      }),
      'ndjson-gzip',
    );
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    await settleDayPartition(sink, partition, never, new Set(many.map((chat) => chat.id)));
    const sizes = await Promise.all(
      (await settledBodies(sink)).map(async (body) => (await decodeNdjsonGzip(body)).length),
    );
    expect(sizes.every((size) => size <= 5_000)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(5_010);
  });

  it('a local run copies its pages into the settled file too (its sink is wrapped by the erasure race guard)', async () => {
    const sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: 60, seed: 9 });
    try {
      const { out } = await archiveLocally(sim, [DAY]);
      const sink = new LocalFileSink(out);
      const [body, ...more] = await settledBodies(sink);
      expect(more).toEqual([]);
      expect(gzipMembers(body!)).toBe(3); // the day's three pages, none compressed again
      const ids = (await decodeNdjsonGzip(body!)).map((row) => row['id']);
      expect(ids.length).toBeGreaterThan(50);
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      await sim.close();
    }
  });

  it("reads a day's files several at a time, its rows in key order; a failed read fails the read of the day", async () => {
    const { sink } = await lake();
    await writeDay(sink);
    const base = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
    await writeDay(sink); // remembered again: the next read takes the same rows from memory
    let reading = 0;
    let most = 0;
    const slow: LakeSink = Object.assign(Object.create(sink) as LakeSink, {
      get: async (key: string) => {
        reading += 1;
        most = Math.max(most, reading);
        await new Promise((resolve) => setTimeout(resolve, 20));
        reading -= 1;
        return sink.get(key);
      },
    });
    const partition = await readDayPartition(slow, DAY, V2_SOURCE.mergedTables, PASS);
    expect(most).toBeGreaterThan(1);
    expect(partition.files).toEqual(base.files);
    expect(partition.tables[0]!.rows.map((row) => [row.id, row.file])).toEqual(
      base.tables[0]!.rows.map((row) => [row.id, row.file]),
    );

    const failing: LakeSink = Object.assign(Object.create(sink) as LakeSink, {
      get: async (key: string) => {
        if (key.endsWith('00003.json.gz')) throw new Error('disk gone');
        return sink.get(key);
      },
    });
    await expect(readDayPartition(failing, DAY, V2_SOURCE.mergedTables, PASS)).rejects.toThrow('disk gone');
  });

  it('on S3, which Athena reads, a settled file is one gzip stream (no concatenated members), every chat once', async () => {
    const bucket = mockVersionedBucket('lake');
    try {
      const sink = new S3Sink(new S3Client({ region: 'eu-west-1' }), 'lake');
      expect(sink.concatenatedGzip).toBeFalsy();
      await writeDay(sink);
      const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, PASS);
      await settleDayPartition(sink, partition, never, new Set(chats.map((chat) => chat.id)));
      const [body, ...more] = await settledBodies(sink);
      expect(more).toEqual([]);
      expect(gzipMembers(body!)).toBe(1);
      expect((await decodeNdjsonGzip(body!)).map((row) => row['id'])).toEqual(chats.map((chat) => chat.id));
    } finally {
      bucket.restore();
    }
  });
});
