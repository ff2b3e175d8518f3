/**
 * Type drift (issue 20, point 10): a value of the wrong type never lands in a typed column. It is
 * set aside in `_mistyped` (lossless), counted in the run summary, the manifest and the worker's
 * SchemaViolations metric, and the strict DuckDB view (which, like Athena's Hive JSON SerDe,
 * fails on a string in an int column) still reads every day.
 */
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { restoreMistyped, setAsideMistyped } from '#lake/mistyped-values.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { reportOf } from '#pipeline/queued-task-result.ts';
import { dayTask } from '#shared/archive-task.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';

const DAY = '2026-05-04';

describe('setting mistyped values aside', () => {
  const chat = {
    id: 'MH022RD0K5',
    duration: '12 minutes', // documented int
    queue: { duration: 2 ** 40 }, // int out of range
    visitor: 'S1355415390.49b8940793', // an object is documented
    tags: ['sales', 7], // array<string>
    goals: [{ id: 3, name: 'ok' }, { id: 'x/~y' }],
    rate: 'rated_good',
    new_field: { anything: true }, // not a column: left alone (an unknown field)
  };

  it('moves each value that does not fit into _mistyped by JSON pointer, and restores the record exactly', () => {
    const aside = setAsideMistyped(chat);
    expect(aside.values).toBe(5);
    expect(aside.paths).toEqual(['duration', 'goals[].id', 'queue.duration', 'tags[]', 'visitor']);
    expect(aside.record).toMatchObject({ id: 'MH022RD0K5', queue: {}, tags: ['sales', null], rate: 'rated_good' });
    expect(aside.record).not.toHaveProperty('duration');
    expect(aside.record).not.toHaveProperty('visitor');
    expect((aside.record['goals'] as unknown[])[1]).toEqual({});
    expect(aside.record['new_field']).toEqual({ anything: true });
    expect(JSON.parse(aside.record['_mistyped'] as string)).toEqual({
      '/duration': '12 minutes',
      '/queue/duration': 2 ** 40,
      '/visitor': 'S1355415390.49b8940793',
      '/tags/1': 7,
      '/goals/1/id': 'x/~y',
    });
    expect(restoreMistyped(aside.record)).toEqual(chat);
    expect(chat.duration).toBe('12 minutes'); // the input is not changed
  });

  it('writes a record whose values all fit unchanged, with no _mistyped', () => {
    const fits = { id: 'A', duration: 60, tags: ['x'], visitor: { id: 'S1' } };
    const aside = setAsideMistyped(fits);
    expect(aside).toEqual({ record: fits, paths: [], values: 0 });
    expect(aside.record).toBe(fits);
  });

  it('counts SchemaViolations in the worker report, names the fields and never a value', () => {
    const report = reportOf({
      kind: 'page-written',
      day: DAY,
      page: 2,
      chats: 25,
      dropped: 0,
      bytes: 1000,
      mistyped: { values: 25, fields: ['duration'] },
    });
    expect(report.counts).toMatchObject({ SchemaViolations: 25, PagesArchived: 1 });
    expect(report.level).toBe('warn');
    expect(report.message).toContain("values that do not fit their column's type, kept in _mistyped: duration");
  });
});

describe('a string where LiveChat documents an int (duration), end to end', { timeout: 60_000 }, () => {
  let sim: RunningSimulator;
  let lake: LocalLake | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: 40, extraFields: { duration: '12 minutes' } });
  });
  afterAll(async () => {
    await lake?.close();
    await sim.close();
  });

  it('archive: every chat is in the lake, the strict DuckDB view reads it, the value is kept and counted', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };
    const run = await runArchiveCli(['--from', DAY, '--to', DAY, '--out', out, '--api-url', sim.url], env);
    expect(run.code, run.stderr).toBe(0);
    const n = sim.chats(DAY).length;
    expect(n).toBeGreaterThan(25); // two pages: page 1 written by the day's planning request, page 2 by its task
    expect(run.stdout).toContain(
      `schema violations: ${n} values did not fit their column's type (kept in _mistyped, every query still reads the days): duration`,
    );

    lake = await openLocalLake(out, { strict: true });
    const rows = await lake.query<{ chats: number; typed: number; kept: number; sample: string }>(
      `SELECT count(*) AS chats, count(duration) AS typed, count(_mistyped) AS kept, any_value(_mistyped) AS sample
       FROM chats WHERE dt = '${DAY}'`,
    );
    expect(rows).toEqual([{ chats: n, typed: 0, kept: n, sample: '{"/duration":"12 minutes"}' }]);
    // Lossless: each stored record, restored, is the chat LiveChat served.
    const served = new Map(sim.chats(DAY).map((chat) => [chat.id, { ...chat, duration: '12 minutes' }]));
    const stored: Record<string, unknown>[] = [];
    for (const file of (await listFiles(join(out, 'chats'))).filter((f) => f.endsWith('.json.gz')))
      stored.push(...(await decodeNdjsonGzip<Record<string, unknown>>(await readFile(join(out, 'chats', file)))));
    expect(stored).toHaveLength(n);
    for (const record of stored) {
      const { _run_id, _archived_at, _page, ...chat } = restoreMistyped(record);
      expect(chat).toEqual(served.get(String(record['id'])));
    }
    const [manifestFile] = (await readdir(join(out, 'manifests/runs'))).filter((f) => f.endsWith('.json'));
    const manifest = JSON.parse(await readFile(join(out, 'manifests/runs', manifestFile!), 'utf8'));
    expect(manifest.totals.schemaViolations).toBe(n);
    expect(manifest.mistypedFields).toEqual(['duration']);
    expect(manifest.days[0].mistyped).toEqual({ values: n, fields: ['duration'] });
  });

  it('the same record written as LiveChat sent it (no set-aside) makes the strict view fail, as Athena would', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    await mkdir(join(out, 'chats', `dt=${DAY}`), { recursive: true });
    const sink = new LocalFileSink(out);
    const raw = { ...sim.chats(DAY)[0]!, duration: '12 minutes' };
    await sink.put(
      `chats/dt=${DAY}/raw.json.gz`,
      await encodeNdjsonGzip([raw], { _run_id: 'r', _archived_at: '2026-05-05T00:00:00.000Z', _page: 1 }),
      'ndjson-gzip',
    );
    const rawLake = await openLocalLake(out, { strict: true });
    try {
      await expect(rawLake.query('SELECT count(*) FROM chats')).rejects.toThrow(/schema violation.*duration/);
    } finally {
      await rawLake.close();
    }
  });

  it('queued path (the worker): every page counts its set-aside values for the SchemaViolations metric', async () => {
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
    const { results } = await deliverUntilEmpty(
      [dayTask('run-q', DAY, 1, {}, 'UTC')],
      { client, sink: new LocalFileSink(out), maxAttempts: 3 },
      { seed: 1 },
    );
    const counted = results.reduce((sum, result) => sum + (reportOf(result).counts['SchemaViolations'] ?? 0), 0);
    expect(counted).toBe(sim.chats(DAY).length);
  });
});
