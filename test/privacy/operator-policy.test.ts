/**
 * The operator policy documented in docs/privacy.md is exactly what `erase` needs on an S3
 * lake: every S3 request an erase makes (derived from the requests themselves, on a versioned
 * bucket that answers as S3 does) is allowed by the policy, and every action and resource the
 * policy grants is used by some request. `prune` makes no S3 request: on S3 the bucket's
 * lifecycle rules do its job.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eraseCommand } from '#cli/erase-command.ts';
import {
  ARCHIVES_PREFIX,
  CHAT_FILES_PREFIX,
  CHAT_TABLE_PREFIXES,
  compactedTablePrefix,
  partitionPrefix,
} from '#lake/lake-layout.ts';
import { encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { ParquetWorkbench, SCHEMA_OF_TABLE } from '#lake/parquet-day.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { capture } from '#test/support/cli-runner.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import { allows, needsOfCalls, type Statement, unusedGrants } from '#test/support/s3-permissions.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const BUCKET = 'lake-bucket';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const DAYS = ['2026-04-01', '2026-04-02'];

/** The JSON block under the "Operator policy" heading of docs/privacy.md, for `<lake>` = the bucket ARN. */
function documentedPolicy(): Statement[] {
  const doc = readFileSync('docs/privacy.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Operator policy'));
  const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!json) throw new Error('docs/privacy.md has no ```json block under "## Operator policy"');
  return (JSON.parse(json.replaceAll('<lake>', BUCKET_ARN)) as { Statement: Statement[] }).Statement;
}

let sim: RunningSimulator;
let bucket: ReturnType<typeof mockVersionedBucket>;
let workbench: ParquetWorkbench;
beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 40, seed: 3 });
  workbench = await ParquetWorkbench.open();
});
afterAll(async () => {
  await sim.close();
  await workbench.close();
});
afterEach(() => bucket.restore());

describe('the documented operator policy is exactly what erase needs on S3', () => {
  it('allows every request of an erase (rewrites, a file left empty, noncurrent versions, the first erasure of a lake) and grants nothing unused', async () => {
    bucket = mockVersionedBucket(BUCKET);
    const sink = new S3Sink(bucket.client, BUCKET);
    await archiveLocally(sim, DAYS, { sink: () => sink, attachments: true });
    await archiveLocally(sim, DAYS, { sink: () => sink, attachments: true }); // a lookback: noncurrent versions
    // A visitor whose chat has a stored attachment: the erase deletes its bytes and chat_files row too.
    let storedChat: string | undefined;
    for (const key of await sink.list(`chat-files/dt=${DAYS[0]}/`)) {
      const row = JSON.parse(Buffer.from((await sink.get(key))!).toString('utf8')) as Record<string, unknown>;
      if (row['status'] === 'stored') storedChat ??= String(row['chat_id']);
    }
    const chat = sim.chats(DAYS[0]!).find((c) => c.id === storedChat)!;
    expect(chat).toBeDefined();
    const visitorId = String(chat['visitor_id']);
    // In each chat table (v3.6's raw one too): a file holding only the visitor's chat, which the
    // erase deletes, and one holding it beside another chat, which the erase rewrites.
    const other = sim.chats(DAYS[1]!).find((c) => c['visitor_id'] !== chat['visitor_id'])!;
    for (const table of CHAT_TABLE_PREFIXES) {
      const row = (c: Record<string, unknown>) => (table === ARCHIVES_PREFIX ? { thread: { id: c['id'] }, ...c } : c);
      const only = `${table}dt=${DAYS[0]}/only-visitor.json.gz`;
      const mixed = `${table}dt=${DAYS[0]}/mixed.json.gz`;
      await sink.put(only, await encodeNdjsonGzip([row(chat)]), 'ndjson-gzip');
      await sink.put(mixed, await encodeNdjsonGzip([row(chat), row(other)]), 'ndjson-gzip');
      // The same in the table's compacted days (Parquet, written by compaction).
      const lines = (chats: Record<string, unknown>[]) => chats.map((c) => JSON.stringify(row(c)));
      const schema = SCHEMA_OF_TABLE[table]!;
      const compacted = partitionPrefix(DAYS[1]!, compactedTablePrefix(table));
      await sink.put(`${compacted}only-visitor.parquet`, await workbench.write(lines([chat]), schema), 'parquet');
      await sink.put(`${compacted}mixed.parquet`, await workbench.write(lines([chat, other]), schema), 'parquet');
    }
    // Compacted chat_files rows (compaction.ts): a file holding only the visitor's chat's row, and one beside another chat's.
    const fileRow = (c: Record<string, unknown>) =>
      JSON.stringify({
        chat_id: c['id'],
        thread_id: null,
        url: `https://cdn.livechat-files.com/${String(c['id'])}`,
        status: 'gone',
        name: 'a.png',
        fetched_at: '2026-04-03T00:00:00Z',
        run_id: 'r',
      });
    const fileRows = partitionPrefix(DAYS[0]!, compactedTablePrefix(CHAT_FILES_PREFIX));
    const fileSchema = SCHEMA_OF_TABLE[CHAT_FILES_PREFIX]!;
    await sink.put(`${fileRows}only-visitor.parquet`, await workbench.write([fileRow(chat)], fileSchema), 'parquet');
    await sink.put(
      `${fileRows}mixed.parquet`,
      await workbench.write([fileRow(chat), fileRow(other)], fileSchema),
      'parquet',
    );
    bucket.mock.resetHistory();

    const stdout = capture();
    const stderr = capture();
    const erase = (args: string[]) =>
      eraseCommand(['--visitor-id', visitorId, '--bucket', BUCKET, ...args], {
        stdout: stdout.stream,
        stderr: stderr.stream,
        s3: bucket.client,
      });
    expect(await erase(['--dry-run'])).toBe(0);
    expect(await erase([])).toBe(0);
    expect(await erase([])).toBe(0); // again: nothing left, the record exists
    expect(stdout.text()).toMatch(/erased \d+ chats? from \d+ files?, \d+ noncurrent versions? deleted/);

    const needs = needsOfCalls(BUCKET_ARN, bucket.mock.calls());
    expect(needs.map((need) => need.action)).toContain('s3:DeleteObject');
    expect(needs.map((need) => need.action)).toContain('s3:DeleteObjectVersion');
    expect(needs.filter((need) => need.request.includes('files/')).length).toBeGreaterThan(0);
    expect(needs.filter((need) => need.request.includes('compacted/chat-files/')).map((need) => need.action)).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion']),
    );
    const policy = documentedPolicy();
    const denied = needs.filter((need) => !policy.some((statement) => allows(statement, need)));
    expect(denied.map((need) => `${need.action} for ${need.request}`)).toEqual([]);

    // Exactly: every action of every statement, on every resource (and listed prefix), is used.
    expect(unusedGrants(policy, needs)).toEqual([]);
  });
});
