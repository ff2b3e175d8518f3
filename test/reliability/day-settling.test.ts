import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDayPartition, settleDayPartition } from '#lake/day-consolidation.ts';
import { ARCHIVES_PREFIX, CHATS_PREFIX, passFileKey } from '#lake/lake-layout.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { V36_SOURCE } from '#sources/v36/v36-source-info.ts';

const DAY = '2026-08-01';
const OLD = { runId: 'run-1', attempt: 1, plan: 'a1' };
const NEW = { runId: 'run-1', attempt: 2, plan: 'b2' };
const never = () => false;

async function lake() {
  return new LocalFileSink(await mkdtemp(join(tmpdir(), 'settle-')));
}

async function rows(sink: LocalFileSink, table = CHATS_PREFIX) {
  const out: Record<string, unknown>[] = [];
  for (const key of await sink.list(`${table}dt=${DAY}/`))
    out.push(...(await decodeNdjsonGzip((await sink.get(key))!)));
  return out;
}

describe('settling a day: the newest fetch of each chat wins, nothing is lost', () => {
  it('a stale page fetched before drift and written after the newer pass does not win, and its other chats are kept', async () => {
    const sink = await lake();
    // The newer pass fetched at 10:05; the stale page of attempt 1 was fetched at 10:00 and written last.
    await sink.put(
      passFileKey(DAY, NEW, 'page-00001'),
      await encodeNdjsonGzip([{ id: 'a', v: 'new' }], {
        _run_id: 'run-1',
        _archived_at: '2026-08-02T10:05:00.000Z',
        _page: 1,
      }),
      'ndjson-gzip',
    );
    await sink.put(
      passFileKey(DAY, OLD, 'page-00003'),
      await encodeNdjsonGzip(
        [
          { id: 'a', v: 'old' },
          { id: 'gone', v: 'old' },
        ],
        { _run_id: 'run-1', _archived_at: '2026-08-02T10:00:00.000Z', _page: 3 },
      ),
      'ndjson-gzip',
    );
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, NEW);
    const settled = await settleDayPartition(sink, partition, never, new Set(['a']));
    expect(settled).toMatchObject({ chats: 2, kept: 1, erased: 0 });
    const stored = await rows(sink);
    expect(stored.map((row) => [row['id'], row['v']]).sort()).toEqual([
      ['a', 'new'],
      ['gone', 'old'],
    ]);
    // Written before delete: exactly the files read are gone, one settled file is left.
    expect(settled.deleted.sort()).toEqual(partition.files);
    expect(await sink.list(`chats/dt=${DAY}/`)).toEqual(settled.written);
  });

  it('never deletes a file it did not read, and a second settling of a settled day changes nothing', async () => {
    const sink = await lake();
    await sink.put(
      passFileKey(DAY, OLD, 'page-00001'),
      await encodeNdjsonGzip([{ id: 'a' }], { _run_id: 'run-1', _archived_at: '2026-08-02T10:00:00.000Z', _page: 1 }),
      'ndjson-gzip',
    );
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, OLD);
    const late = passFileKey(DAY, NEW, 'page-00001');
    await sink.put(
      late,
      await encodeNdjsonGzip([{ id: 'b' }], { _run_id: 'run-1', _archived_at: 'z', _page: 1 }),
      'ndjson-gzip',
    );
    const first = await settleDayPartition(sink, partition, never, new Set(['a']));
    expect(await sink.list(`chats/dt=${DAY}/`)).toEqual([...first.written, late].sort());
    const again = await settleDayPartition(
      sink,
      await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, NEW),
      never,
      new Set(['b']),
    );
    expect(again).toMatchObject({ chats: 2, kept: 1 });
    const settled = await sink.list(`chats/dt=${DAY}/`);
    const third = await settleDayPartition(
      sink,
      await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, NEW),
      never,
      new Set(['b']),
    );
    expect(third.written).toEqual([]);
    expect(await sink.list(`chats/dt=${DAY}/`)).toEqual(settled);
  });

  it('v3.6: a thread listed again with restricted_access and no events never replaces the archived transcript; a thread of two slices is stored once', async () => {
    const sink = await lake();
    const thread = (events: unknown[] | undefined, restricted?: string) => ({
      id: 'chat-1',
      thread: { id: 't1', ...(events ? { events } : {}), ...(restricted ? { restricted_access: restricted } : {}) },
    });
    const meta = (at: string, page: number) => ({ _run_id: 'run-1', _archived_at: at, _page: page });
    const older = meta('2026-06-01T00:00:00.000Z', 1);
    await sink.put(
      passFileKey(DAY, OLD, 'v36-h01-part-00001', ARCHIVES_PREFIX),
      await encodeNdjsonGzip([thread([{ id: 'e1' }])], older),
      'ndjson-gzip',
    );
    await sink.put(
      passFileKey(DAY, OLD, 'v36-h01-part-00001'),
      await encodeNdjsonGzip([{ id: 't1', messages: ['hi'] }], older),
      'ndjson-gzip',
    );
    await sink.put(
      passFileKey(DAY, OLD, 'v36-h02-part-00001', ARCHIVES_PREFIX),
      await encodeNdjsonGzip([thread([{ id: 'e1' }])], meta('2026-06-01T00:00:00.000Z', 2)),
      'ndjson-gzip',
    );
    const stub = meta('2026-08-05T00:00:00.000Z', 1);
    const restricted = "You can't access threads older than 60 days on starter plan";
    await sink.put(
      passFileKey(DAY, NEW, 'v36-day-part-00001', ARCHIVES_PREFIX),
      await encodeNdjsonGzip([thread(undefined, restricted)], stub),
      'ndjson-gzip',
    );
    await sink.put(
      passFileKey(DAY, NEW, 'v36-day-part-00001'),
      await encodeNdjsonGzip([{ id: 't1', messages: [] }], stub),
      'ndjson-gzip',
    );

    const partition = await readDayPartition(sink, DAY, V36_SOURCE.mergedTables, NEW);
    const settled = await settleDayPartition(sink, partition, never, new Set(['t1']));
    expect(settled).toMatchObject({ chats: 1, kept: 1 });
    const [raw, ...moreRaw] = await rows(sink, ARCHIVES_PREFIX);
    expect(moreRaw).toEqual([]);
    expect(raw).toMatchObject({ thread: { id: 't1', events: [{ id: 'e1' }] } });
    const [chat, ...moreChats] = await rows(sink);
    expect(moreChats).toEqual([]);
    expect(chat).toMatchObject({ id: 't1', messages: ['hi'] });
  });

  it('leaves chats of erased visitors out of every table', async () => {
    const sink = await lake();
    const meta = { _run_id: 'run-1', _archived_at: '2026-08-02T10:00:00.000Z', _page: 1 };
    await sink.put(
      passFileKey(DAY, OLD, 'page-00001'),
      await encodeNdjsonGzip(
        [
          { id: 'a', visitor_id: 'v1' },
          { id: 'b', visitor_id: 'v2' },
        ],
        meta,
      ),
      'ndjson-gzip',
    );
    const partition = await readDayPartition(sink, DAY, V2_SOURCE.mergedTables, OLD);
    const settled = await settleDayPartition(sink, partition, (row) => row['visitor_id'] === 'v1', new Set(['a', 'b']));
    expect(settled).toMatchObject({ chats: 1, erased: 1 });
    expect((await rows(sink)).map((row) => row['id'])).toEqual(['b']);
  });
});
