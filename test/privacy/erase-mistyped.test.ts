/**
 * Type drift moves a value that does not fit its column into `_mistyped` (mistyped-values.ts).
 * When that value is what identifies the visitor (a visitor id sent as a number, the visitor sent
 * as a bare id instead of an object), `erase` must still find the chat: in the JSON days, in the
 * compacted (Parquet) days, and in an S3 lake's noncurrent versions. And an agent's address set
 * aside there is still the agent's: erasing it removes no chat.
 */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eraseCommand } from '#cli/erase-command.ts';
import { compactLake } from '#lake/compaction.ts';
import { CHATS_PREFIX, compactedTablePrefix, settledKey } from '#lake/lake-layout.ts';
import { MISTYPED_FIELD, setAsideInRecords } from '#lake/mistyped-values.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { ParquetWorkbench } from '#lake/parquet-day.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { ErasedVisitors } from '#privacy/erased-visitors.ts';
import { parquetRecords } from '#privacy/rewrite-parquet-without.ts';
import { generateDay } from '#simulator/synthetic-chats.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { capture } from '#test/support/cli-runner.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const DAYS = ['2026-06-01', '2026-06-02'];
const BARE_ID = 'S1700000000.d41f7e2b9c';
const NUMERIC_ID = 4815162342;
const SURVEY_EMAIL = 'drifted.visitor@example.org';
const AGENT_EMAIL = 'john.doe@mycompany.com';

type Json = Record<string, unknown>;

/**
 * One day's chats as LiveChat might send them after a change, each drifted in a way that puts
 * the identifying value into `_mistyped` only: the visitor as a bare id string (an object is
 * documented), a visitor id as a number (a string is documented), an e-mail answer as a list;
 * one chat whose agent is a bare e-mail string; the rest as documented.
 */
function driftedDay(day: string, seed: number): Json[] {
  const [bare, numeric, survey, agent, ...plain] = generateDay(seed, day, 8, new Set()) as unknown as Json[];
  const { visitor_id: _a, ...bareChat } = bare!;
  const { visitor_id: _b, ...numericChat } = numeric!;
  return [
    { ...bareChat, visitor: BARE_ID },
    { ...numericChat, visitor: { ...(numeric!['visitor'] as Json), id: NUMERIC_ID } },
    { ...survey!, prechat_survey: [{ key: 'E-mail:', value: [SURVEY_EMAIL], id: '1' }] },
    { ...agent!, agents: [AGENT_EMAIL] },
    ...plain,
  ];
}

const idOf = (chat: Json) => String(chat['id']);

/** Two settled days as a night leaves them (set-aside applied as the page writer does); the second compacted. */
async function driftedLake(sink: LakeSink): Promise<{ byRole: Record<string, string[]>; all: string[] }> {
  const byRole: Record<string, string[]> = { bare: [], numeric: [], survey: [], agent: [], plain: [] };
  for (const [index, day] of DAYS.entries()) {
    const chats = driftedDay(day, 40 + index);
    const { records, mistyped } = setAsideInRecords(chats);
    expect(mistyped?.fields).toEqual(['agents[]', 'prechat_survey[].value', 'visitor', 'visitor.id']);
    for (const [role, chat] of [
      ['bare', chats[0]],
      ['numeric', chats[1]],
      ['survey', chats[2]],
      ['agent', chats[3]],
    ] as const) {
      byRole[role]!.push(idOf(chat!));
    }
    byRole['plain']!.push(...chats.slice(4).map(idOf));
    const body = await encodeNdjsonGzip(records, { _run_id: 'night-1', _archived_at: `${day}T23:00:00.000Z` });
    await sink.put(settledKey(day, CHATS_PREFIX, `d${index}`, 1), body, 'ndjson-gzip');
  }
  const compacted = await compactLake({
    sink,
    tables: V2_SOURCE.mergedTables,
    from: DAYS[1],
    to: DAYS[1],
    erasures: () => ErasedVisitors.load(sink),
  });
  expect(compacted.days.map((d) => d.status)).toEqual(['compacted']);
  return { byRole, all: Object.values(byRole).flat().sort() };
}

let workbench: ParquetWorkbench;
beforeAll(async () => {
  workbench = await ParquetWorkbench.open();
});
afterAll(() => workbench.close());

/** Every chat record in the files (JSON and Parquet) of `chats`, current only. */
async function storedChats(sink: LakeSink): Promise<Json[]> {
  const out: Json[] = [];
  for (const prefix of [CHATS_PREFIX, compactedTablePrefix(CHATS_PREFIX)]) {
    for (const key of await sink.list(prefix)) {
      const body = await sink.get(key);
      if (!body) continue;
      if (key.endsWith('.parquet'))
        out.push(...(await parquetRecords(workbench, key, body)).map(({ record }) => record as Json));
      else if (key.endsWith('.json.gz')) out.push(...(await decodeNdjsonGzip<Json>(body)));
    }
  }
  return out;
}

async function erase(args: string[], s3?: ReturnType<typeof mockVersionedBucket>) {
  const stdout = capture();
  const stderr = capture();
  const code = await eraseCommand(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    ...(s3 ? { s3: s3.client } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('erase finds a visitor whose identifier is only in _mistyped (type drift)', () => {
  it('folder lake: finds them in JSON and compacted days, and a later night drops them as fetched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-'));
    const sink = new LocalFileSink(dir);
    const { byRole, all } = await driftedLake(sink);
    const stored = await storedChats(sink);
    expect(stored.map(idOf).sort()).toEqual(all);
    // The identifying values are in _mistyped only: not in a column, not under their own field.
    const bare = stored.find((r) => r['id'] === byRole['bare']![0])!;
    expect(bare['visitor']).toBeUndefined();
    expect(bare[MISTYPED_FIELD]).toBe(JSON.stringify({ '/visitor': BARE_ID }));
    const numeric = stored.find((r) => r['id'] === byRole['numeric']![1])!;
    expect((numeric['visitor'] as Json)['id']).toBeUndefined();
    expect(numeric[MISTYPED_FIELD]).toBe(JSON.stringify({ '/visitor/id': NUMERIC_ID }));

    for (const [args, role] of [
      [['--visitor-id', BARE_ID], 'bare'],
      [['--visitor-id', String(NUMERIC_ID)], 'numeric'],
      [['--email', SURVEY_EMAIL], 'survey'],
    ] as const) {
      const result = await erase([...args, '--out', dir]);
      expect(result.code, result.stderr).toBe(0);
      // One chat a day: one in the JSON day, one in the compacted day.
      expect(result.stdout).toMatch(/^erased 2 chats from 2 files/);
      expect(result.stdout).toMatch(/\.json\.gz\n[\s\S]*\.parquet\n/);
      const left = (await storedChats(sink)).map(idOf);
      for (const id of byRole[role]!) expect(left).not.toContain(id);
    }
    expect((await storedChats(sink)).map(idOf).sort()).toEqual([...byRole['agent']!, ...byRole['plain']!].sort());

    // The write path matches the same identifiers on the chats as fetched (before any set-aside):
    // a lookback that fetches the drifted chats again drops them.
    const erased = await ErasedVisitors.load(sink);
    const [bareChat, numericChat, surveyChat, agentChat, plainChat] = driftedDay(DAYS[0]!, 40);
    for (const chat of [bareChat, numericChat, surveyChat]) expect(erased.isErased(chat)).toBe(true);
    for (const chat of [agentChat, plainChat]) expect(erased.isErased(chat)).toBe(false);
  });

  it("folder lake: an agent's address set aside in _mistyped is still the agent's, and erasing it removes no chat", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lake-'));
    const { all } = await driftedLake(new LocalFileSink(dir));
    const result = await erase(['--email', AGENT_EMAIL, '--out', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^erased 0 chats from 0 files/);
    expect((await storedChats(new LocalFileSink(dir))).map(idOf).sort()).toEqual(all);
  });

  describe('S3 lake (versioned bucket)', () => {
    let bucket: ReturnType<typeof mockVersionedBucket>;
    afterEach(() => bucket.restore());

    it('rewrites the JSON and Parquet objects and deletes every noncurrent version that held the visitor', async () => {
      bucket = mockVersionedBucket('lake-bucket');
      const sink = new S3Sink(bucket.client, 'lake-bucket', 'archive');
      const { byRole } = await driftedLake(sink);
      // A second night writes the JSON day again: its first version is noncurrent, and holds the chats too.
      const [jsonKey] = (await sink.list(`${CHATS_PREFIX}dt=${DAYS[0]}/`)).filter((k) => k.endsWith('.json.gz'));
      await sink.put(jsonKey!, (await sink.get(jsonKey!))!, 'ndjson-gzip');

      const holds = (id: string) => async (body: Uint8Array, key: string) =>
        (key.endsWith('.parquet')
          ? (await parquetRecords(workbench, key, body)).map(({ record }) => record as Json)
          : await decodeNdjsonGzip<Json>(body)
        ).some((r) => r['id'] === id);
      const versionsHolding = async (ids: readonly string[]) => {
        const found: string[] = [];
        for (const version of bucket.allVersions()) {
          if (!/\.(json\.gz|parquet)$/.test(version.key)) continue;
          for (const id of ids) if (await holds(id)(version.body, version.key)) found.push(version.versionId);
        }
        return found;
      };
      const bareAndNumeric = [...byRole['bare']!, ...byRole['numeric']!];
      expect((await versionsHolding(bareAndNumeric)).length).toBeGreaterThan(2);

      for (const args of [
        ['--visitor-id', BARE_ID],
        ['--visitor-id', String(NUMERIC_ID)],
      ]) {
        const result = await erase([...args, '--bucket', 'lake-bucket', '--prefix', 'archive'], bucket);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(/^erased 2 chats from 2 files, [1-9]\d* noncurrent versions? deleted/);
      }
      expect(await versionsHolding(bareAndNumeric)).toEqual([]);
      const left = (await storedChats(sink)).map(idOf).sort();
      expect(left).toEqual([...byRole['survey']!, ...byRole['agent']!, ...byRole['plain']!].sort());
    });
  });
});
