import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveWithFiles, fileRowsOf, objectsUnder, simulatorWithVisitors } from '#test/support/visitor-files.ts';

const FROM = '2026-05-01';
const TO = '2026-05-02';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const DAYS = { from: FROM, to: TO };
const startSim = (source: 'v2' | 'v3.6') => simulatorWithVisitors(source, { ...DAYS, chatsPerDay: 100 }, closers);

describe.each(['v2', 'v3.6'] as const)('attachments under erase and prune, %s source', (source) => {
  it('erase removes exactly the visitor’s files and rows, and a re-archive does not bring them back', async () => {
    const { sim, env, visitorOf } = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-erase-files-${source}-`));
    const archive = () => archiveWithFiles(source, DAYS, sim.url, env, out, ['--max-attachment-mb', '1']);
    expect((await archive()).code).toBe(0);
    const rows = await fileRowsOf(out);
    const stored = rows.find((row) => row.status === 'stored')!;
    const owner = stored.thread_id ?? stored.chat_id;
    const visitor = visitorOf(owner);
    expect(visitor).not.toBe('');
    // Every chat of this visitor: their rows and bytes are what the erase must remove, nothing else.
    const ownersOfVisitor = new Set(
      rows.map((row) => row.thread_id ?? row.chat_id).filter((id) => visitorOf(id) === visitor),
    );
    const before = await objectsUnder(out);
    const expectedGone = before.filter((key) =>
      [...ownersOfVisitor].some((id) => key.includes(`/${id}/`) || key.includes(`/${id}.`)),
    );
    expect(expectedGone).toContain(stored.lake_key);
    expect(expectedGone).toContain(stored.key);

    const result = await eraseVisitor({ sink: new LocalFileSink(out), target: { kind: 'visitor-id', value: visitor } });
    expect(result.attachments).toBe(expectedGone.length);
    const after = await objectsUnder(out);
    expect(after).toEqual(before.filter((key) => !expectedGone.includes(key)));

    const requestsBefore = sim.fileRequests().length;
    expect((await archive()).code).toBe(0);
    expect(await objectsUnder(out)).toEqual(after);
    const erasedUrls = new Set(
      rows.filter((row) => ownersOfVisitor.has(row.thread_id ?? row.chat_id)).map((row) => new URL(row.url).pathname),
    );
    expect(
      sim
        .fileRequests()
        .slice(requestsBefore)
        .filter((request) => erasedUrls.has(request.path)),
    ).toEqual([]);
  });

  it('prune expires files and their rows with the chats', async () => {
    const { sim, env } = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-prune-files-${source}-`));
    const archived = await archiveWithFiles(source, DAYS, sim.url, env, out);
    expect(archived.code).toBe(0);
    const objects = await objectsUnder(out);
    expect(objects.some((key) => key.startsWith('files/'))).toBe(true);
    const kept = await pruneLocalLake({ dir: out, olderThanDays: 30 });
    expect(kept.files.filter((key) => key.startsWith('files/') || key.startsWith('chat-files/'))).toEqual([]);
    expect(await objectsUnder(out)).toEqual(objects);
    const later = new Date(Date.now() + 31 * 86_400_000);
    const pruned = await pruneLocalLake({ dir: out, olderThanDays: 30, now: () => later });
    expect(pruned.files.filter((key) => key.startsWith('files/') || key.startsWith('chat-files/')).sort()).toEqual(
      objects,
    );
    expect(await objectsUnder(out)).toEqual([]);
    expect(await listFiles(join(out, 'files'))).toEqual([]);
  });
});
