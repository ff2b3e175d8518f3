import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { ParquetWorkbench, SCHEMA_OF_TABLE } from '#lake/parquet-day.ts';
import type { PreparedDay } from '#pipeline/athena-compaction.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { useBundledHandler } from '#test/support/lambda-bundle.ts';
import { lambdaContext, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

/**
 * The compactor as Lambda runs it: bundled and minified as the stack bundles it, with the
 * environment the stack gives it, driven through the state machine's three steps over an S3
 * bucket (mocked) holding a simulator lake. Athena's UNLOAD is stood in for by writing the day's
 * Parquet file where the prepared statement's TO location says.
 */
type Handler = (event: unknown, context: Context) => Promise<unknown>;

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04'];
const aws = lambdaAwsMocks();
let sim: RunningSimulator;
let lake: string;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: 30, seed: 4 });
  lake = (await archiveLocally(sim, DAYS)).out;
  stubFunctionEnv(sim.url, {
    DATABASE: 'livechat_archive',
    TIME_ZONE: 'UTC',
    LOOKBACK_DAYS: '3',
    SETTLE_HOURS: '2',
    MAX_DAYS: '60',
    SOURCE: 'v2',
  });
}, 60_000);
afterAll(() => sim?.close());
const compactor = useBundledHandler<Handler>(
  'functions/handlers/compactor.ts',
  'test/handlers',
  'compactor.mjs',
  (text) => expect(text).not.toContain('@duckdb/node-api'), // DuckDB stays out of the Lambda
);

describe('the bundled compactor', () => {
  it('plans, prepares and commits a day on S3: the staged Parquet file in place, the day’s JSON gone', async () => {
    aws.reset({});
    for (const file of await listFiles(lake)) aws.bucket.set(file, await readFile(join(lake, file)));
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-03-09T12:00:00Z') });
    try {
      // The night of 03-09 archives 03-05…03-08 again: 03-02…03-04 are compactable.
      const plan = (await compactor.handler({ action: 'plan' }, lambdaContext())) as { days: string[] };
      expect(plan.days).toEqual(DAYS);
      expect(await compactor.handler({}, lambdaContext())).toEqual(plan); // `{}` by hand plans too

      const day = DAYS[0]!;
      const prepared = (await compactor.handler({ action: 'prepare', day }, lambdaContext())) as PreparedDay;
      expect(prepared.inputs).toEqual([expect.stringMatching(new RegExp(`^chats/dt=${day}/settled-`))]);
      expect(prepared.unloads).toHaveLength(1);
      const location = /\) TO 's3:\/\/lake-bucket\/([^']+)'/.exec(prepared.unloads[0]!.sql)![1]!;

      // Athena's part: the day's latest copies as Parquet under the TO location.
      const lines = (await decodeNdjsonGzip<Record<string, unknown>>(aws.bucket.get(prepared.inputs[0]!)!)).map(
        (chat) => JSON.stringify(chat),
      );
      const bench = await ParquetWorkbench.open();
      try {
        aws.bucket.set(`${location}20260309_120000_00001_abcde`, await bench.write(lines, SCHEMA_OF_TABLE['chats/']!));
      } finally {
        await bench.close();
      }

      const committed = await compactor.handler({ action: 'commit', prepared }, lambdaContext());
      expect(committed).toEqual({ day, status: 'compacted', written: 1, deleted: 1 });
      const keys = [...aws.bucket.keys()].filter((key) => key.includes(`dt=${day}/`) && !key.startsWith('manifests/'));
      expect(keys).toEqual([
        expect.stringMatching(new RegExp(`^compacted/chats/dt=${day}/compacted-${prepared.token}-00001\\.parquet$`)),
      ]);
      expect(await compactor.handler({ action: 'prepare', day }, lambdaContext())).toEqual({
        day,
        skipped: 'no JSON files: compacted already',
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses an event it does not know with one line', async () => {
    await expect(compactor.handler({ action: 'explode' }, lambdaContext())).rejects.toThrow(
      /^not a compactor request: /,
    );
    await expect(compactor.handler({ action: 'prepare', day: 'yesterday' }, lambdaContext())).rejects.toThrow(/day/);
  });
});
