import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compactLake } from '#lake/compaction.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { kindOf, simulatedFileBytes } from '#simulator/attachment-files.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { V36_SOURCE } from '#sources/v36/v36-source-info.ts';
import { type AttachmentRef, v2AttachmentRefs, v36AttachmentRefs } from '#test/support/attachment-refs.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { latestRunManifest, listFiles } from '#test/support/lake-reader.ts';

const FROM = '2026-05-01';
const TO = '2026-05-03';
const DAYS = ['2026-05-01', '2026-05-02', '2026-05-03'];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Sim {
  url: string;
  env: Record<string, string>;
  source: 'v2' | 'v3.6';
  /** Every file URL the simulator's chats point to, with the chats-table id of its chat. */
  urls(): AttachmentRef[];
  fileRequests(): Array<{ host: string; path: string; authorization: boolean; cookie: boolean }>;
}

async function startSim(source: 'v2' | 'v3.6'): Promise<Sim> {
  if (source === 'v2') {
    const sim = await startSimulator({ from: FROM, to: TO, chatsPerDay: 100 });
    closers.push(() => sim.close());
    return {
      url: sim.url,
      source,
      env: { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat },
      urls: () => v2AttachmentRefs(DAYS.flatMap((day) => sim.chats(day))),
      fileRequests: () => sim.fileRequests(),
    };
  }
  const sim = await startV36Simulator({ from: FROM, to: TO, chatsPerDay: 100 });
  closers.push(() => sim.close());
  return {
    url: sim.url,
    source,
    env: { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
    urls: () => v36AttachmentRefs(DAYS.flatMap((day) => sim.archives(day))),
    fileRequests: () => sim.fileRequests(),
  };
}

const EXPECTED_STATUS = {
  ok: 'stored',
  redirect: 'stored',
  gone: 'gone',
  large: 'too_large',
  outside: 'refused_host',
  'redirect-outside': 'refused_host',
} as const;

function hexOfUrl(url: string): string {
  return /\/([0-9a-f]{32})\//.exec(url)![1]!;
}

async function archive(sim: Sim, out: string, extra: string[] = []) {
  return runArchiveCli(
    [
      '--from',
      FROM,
      '--to',
      TO,
      '--out',
      out,
      '--api-url',
      sim.url,
      '--source',
      sim.source,
      '--attachment-hosts',
      '127.0.0.1',
      '--max-attachment-mb',
      '1',
      ...extra,
    ],
    sim.env,
  );
}

async function chatFileRows(out: string) {
  const lake = await openLocalLake(out);
  try {
    return await lake.query<Record<string, string | number | null>>('SELECT * FROM chat_files ORDER BY url');
  } finally {
    await lake.close();
  }
}

describe.each(['v2', 'v3.6'] as const)('attachments, %s source, local CLI', (source) => {
  it('stores every served file byte for byte, records each reference once with its status, and asks no host outside the allowlist', async () => {
    const sim = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-files-${source}-`));
    const result = await archive(sim, out);
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);

    const expected = sim.urls();
    const kinds = new Set(expected.map(({ url }) => kindOf(hexOfUrl(url))));
    // The simulator serves every case on these days: the test checks each one.
    expect([...kinds].sort()).toEqual(['gone', 'large', 'ok', 'outside', 'redirect', 'redirect-outside']);

    const rows = await chatFileRows(out);
    expect(rows).toHaveLength(expected.length);
    const byUrl = new Map(rows.map((row) => [`${row['thread_id'] ?? row['chat_id']}|${row['url']}`, row]));
    for (const { owner, url } of expected) {
      const row = byUrl.get(`${owner}|${url}`);
      expect(row, url).toBeDefined();
      const kind = kindOf(hexOfUrl(url));
      expect(row!['status'], `${kind} ${url}`).toBe(EXPECTED_STATUS[kind]);
      if (row!['status'] !== 'stored') {
        expect(row!['lake_key']).toBeNull();
        expect(row!['sha256']).toBeNull();
        continue;
      }
      const served = simulatedFileBytes(url)!;
      const sha = createHash('sha256').update(served).digest('hex');
      expect(row!['sha256']).toBe(sha);
      expect(row!['size']).toBe(served.length);
      expect(String(row!['lake_key'])).toMatch(new RegExp(`^files/dt=${row!['dt']}/`));
      const stored = await readFile(join(out, String(row!['lake_key'])));
      expect(createHash('sha256').update(stored).digest('hex')).toBe(sha);
    }

    const requests = sim.fileRequests();
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((request) => !request.host.startsWith('127.0.0.1:'))).toEqual([]);
    expect(requests.filter((request) => request.authorization || request.cookie)).toEqual([]);
    // The oversized file is not downloaded past the cap, and nothing was stored for it.
    const large = rows.filter((row) => row['status'] === 'too_large');
    expect(large.length).toBeGreaterThan(0);

    const manifest = await latestRunManifest(out);
    const files = manifest.totals.files!;
    expect(files.stored).toBe(rows.filter((row) => row['status'] === 'stored').length);
    expect(files.gone + files.too_large + files.refused_host + files.failed + files.stored).toBe(expected.length);
    expect(files.failed).toBe(0);
    expect(result.stdout).toContain(`files ${expected.length} (${files.stored} stored`);
  });

  it('does not download a stored file again when the days are archived again', async () => {
    const sim = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-files-again-${source}-`));
    expect((await archive(sim, out)).code).toBe(0);
    const first = sim.fileRequests().length;
    const storedPaths = new Set(
      (await chatFileRows(out))
        .filter((row) => row['status'] === 'stored')
        .map((row) => new URL(String(row['url'])).pathname),
    );
    const again = await archive(sim, out, ['--full']);
    expect(again.code).toBe(0);
    const second = sim.fileRequests().slice(first);
    expect(second.filter((request) => storedPaths.has(request.path))).toEqual([]);
    const manifest = await latestRunManifest(out);
    expect(manifest.totals.files!.downloaded).toBe(0);
    expect(manifest.totals.files!.stored).toBe(storedPaths.size);
  });

  it.each([
    ['month files', undefined],
    ['day files', 0],
  ])(
    'does not download a stored file again when compacted days (%s) are archived again: counted as stored, its row kept',
    async (_unit, smallDayChats) => {
      const sim = await startSim(source);
      const out = await mkdtemp(join(tmpdir(), `lake-files-compacted-${source}-`));
      expect((await archive(sim, out)).code).toBe(0);
      const storedRows = async () =>
        (await chatFileRows(out)).filter((row) => row['status'] === 'stored').map(({ month: _, ...row }) => row);
      const before = await storedRows();
      const storedPaths = new Set(before.map((row) => new URL(String(row['url'])).pathname));
      const sink = new LocalFileSink(out);
      await compactLake({
        sink,
        tables: (source === 'v2' ? V2_SOURCE : V36_SOURCE).mergedTables,
        erasures: () => ErasedVisitors.load(sink),
        ...(smallDayChats !== undefined ? { smallDayChats } : {}),
      });
      // The stored rows live only in compacted files now.
      expect((await listFiles(out)).filter((file) => file.startsWith('chat-files/'))).toEqual([]);
      // One stored file's bytes removed since (as a prune or a lost write would): that one is fetched again.
      const lost = before[0]!;
      await rm(join(out, String(lost['lake_key'])));

      const first = sim.fileRequests().length;
      const again = await archive(sim, out, ['--full']);
      expect(again.code).toBe(0);
      const lostPath = new URL(String(lost['url'])).pathname;
      const second = sim.fileRequests().slice(first);
      expect(second.filter((request) => storedPaths.has(request.path)).map((request) => request.path)).toEqual([
        lostPath,
      ]);
      const manifest = await latestRunManifest(out);
      expect(manifest.totals.files!.downloaded).toBe(1);
      expect(manifest.totals.files!.stored).toBe(storedPaths.size);
      // Each stored file keeps its row (the restored one a new row with the same bytes), and its bytes.
      const after = await storedRows();
      expect(after.map((row) => row['url']).sort()).toEqual(before.map((row) => row['url']).sort());
      expect(after.filter((row) => row['url'] !== lost['url'])).toEqual(
        before.filter((row) => row['url'] !== lost['url']),
      );
      for (const row of after) await readFile(join(out, String(row['lake_key'])));
      expect(after.find((row) => row['url'] === lost['url'])!['sha256']).toBe(lost['sha256']);
    },
  );

  it('--attachments off stores no file and makes no file request', async () => {
    const sim = await startSim(source);
    const out = await mkdtemp(join(tmpdir(), `lake-files-off-${source}-`));
    const result = await archive(sim, out, ['--attachments', 'off']);
    expect(result.code).toBe(0);
    expect(sim.fileRequests()).toEqual([]);
    expect(await listFiles(join(out, 'files'))).toEqual([]);
    expect((await latestRunManifest(out)).totals.files).toBeUndefined();
  });
});
