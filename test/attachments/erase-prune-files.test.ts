import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { pruneLocalLake } from '#privacy/prune-local-lake.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';

const FROM = '2026-05-01';
const TO = '2026-05-02';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Row {
  chat_id: string;
  thread_id: string | null;
  status: string;
  lake_key: string | null;
  url: string;
}

async function rowsOf(out: string): Promise<Array<Row & { key: string }>> {
  const keys = await listFiles(join(out, 'chat-files'));
  return Promise.all(
    keys.map(async (key) => ({
      key: `chat-files/${key}`,
      ...(JSON.parse(await readFile(join(out, 'chat-files', key), 'utf8')) as Row),
    })),
  );
}

async function objectsUnder(out: string): Promise<string[]> {
  const files = (await listFiles(join(out, 'files'))).map((key) => `files/${key}`);
  const rows = (await listFiles(join(out, 'chat-files'))).map((key) => `chat-files/${key}`);
  return [...files, ...rows].sort();
}

async function startSim(source: 'v2' | 'v3.6') {
  if (source === 'v2') {
    const sim = await startSimulator({ from: FROM, to: TO, chatsPerDay: 100 });
    closers.push(() => sim.close());
    return {
      sim,
      env: { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat },
      visitorOf: (owner: string) =>
        String([FROM, TO].flatMap((day) => sim.chats(day)).find((chat) => chat.id === owner)?.['visitor_id'] ?? ''),
    };
  }
  const sim = await startV36Simulator({ from: FROM, to: TO, chatsPerDay: 100 });
  closers.push(() => sim.close());
  return {
    sim,
    env: { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
    visitorOf: (owner: string) => {
      const archive = [FROM, TO].flatMap((day) => sim.archives(day)).find((entry) => entry.thread.id === owner);
      const users = (archive?.['users'] ?? []) as Array<{ id: string; type: string }>;
      return users.find((user) => user.type === 'customer')?.id ?? '';
    },
  };
}

/** `npm run archive` of FROM..TO into `out`, files fetched from the simulator's own host (127.0.0.1). */
function archiveWithFiles(
  source: 'v2' | 'v3.6',
  apiUrl: string,
  env: Record<string, string | undefined>,
  out: string,
  extra: string[] = [],
) {
  const args = ['--from', FROM, '--to', TO, '--out', out, '--api-url', apiUrl, '--source', source];
  return runArchiveCli([...args, '--attachment-hosts', '127.0.0.1', ...extra], env);
}

describe.each(['v2', 'v3.6'] as const)('attachments under erase and prune, %s source', (source) => {
  it('erase removes exactly the visitor’s files and rows, and a re-archive does not bring them back', async () => {
    const { sim, env, visitorOf } = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-erase-files-${source}-`));
    const archive = () => archiveWithFiles(source, sim.url, env, out, ['--max-attachment-mb', '1']);
    expect((await archive()).code).toBe(0);
    const rows = await rowsOf(out);
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
    const archived = await archiveWithFiles(source, sim.url, env, out);
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
