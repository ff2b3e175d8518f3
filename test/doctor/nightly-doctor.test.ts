import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DoctorCheckFailedError, nightlyDoctor, stopOnFailedCheck } from '#handlers/nightly-doctor.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { DATA, NOW } from './doctor-support.ts';

const s3 = mockClient(S3Client);
let sim: RunningSimulator;
let lines: Array<{ level: string; message: string; fields: Record<string, unknown> }>;
let metrics: Array<[string, number]>;

const logger = Object.fromEntries(
  ['info', 'warn', 'error'].map((level) => [
    level,
    (message: string, fields: Record<string, unknown>) => lines.push({ level, message, fields }),
  ]),
) as unknown as Logger;
const metricsSink = {
  addMetric: (name: string, _unit: string, value: number) => metrics.push([name, value]),
} as unknown as Metrics;

beforeEach(async () => {
  lines = [];
  metrics = [];
  s3.reset();
  s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'manifests/time-zone/UTC.json' }] });
  sim = await startSimulator({ ...DATA, chatsPerDay: 30 });
});
afterEach(() => sim.close());

function doctorFor(timeZone = 'UTC') {
  return nightlyDoctor(
    {
      SOURCE: 'v2',
      API_URL: sim.url,
      TIME_ZONE: timeZone,
      LOOKBACK_DAYS: 3,
      BUSY_DAY_THRESHOLD: 2000,
      FILTERS: {},
      BUCKET_NAME: 'lake-bucket',
    },
    { s3: new S3Client({}), logger, metrics: metricsSink, tuning: { baseRetryDelayMs: 5 }, now: () => NOW },
  );
}

describe("the planner's doctor (issue 24, item 3)", () => {
  it('logs one JSON line per check, counts no failure, reads the bucket and writes nothing', async () => {
    const secret = JSON.stringify({ login: sim.login, pat: sim.pat, accountId: sim.accountId });
    const report = await doctorFor()(secret);
    expect(report.verdict).toBe('ok');
    expect(lines.map((line) => [line.level, line.message, line.fields['check'], line.fields['status']])).toEqual([
      ['info', 'doctor check', 'credentials', 'ok'],
      ['info', 'doctor check', 'data-centre', 'ok'],
      ['info', 'doctor check', 'api-lifecycle', 'ok'],
      ['info', 'doctor check', 'volume', 'ok'],
      ['info', 'doctor check', 'sample', 'ok'],
      ['info', 'doctor check', 'retention', 'ok'],
      ['info', 'doctor check', 'lake', 'ok'],
    ]);
    expect(metrics).toEqual([['DoctorChecksFailed', 0]]);
    expect(s3.calls().map((call) => call.args[0].constructor.name)).toEqual(['ListObjectsV2Command']);
    expect(() => stopOnFailedCheck(report)).not.toThrow();
  });

  it('stops the night on a refused PAT with the doctor line, never the secret', async () => {
    const report = await doctorFor()(JSON.stringify({ login: sim.login, pat: 'wrong-pat-789' }));
    expect(report.verdict).toBe('refused');
    expect(() => stopOnFailedCheck(report)).toThrow(DoctorCheckFailedError);
    expect(() => stopOnFailedCheck(report)).toThrow(/^doctor: failed +credentials +Personal Access Token .*refused/);
    expect(lines.find((line) => line.fields['check'] === 'credentials')?.level).toBe('error');
    expect(metrics).toEqual([
      ['DoctorChecksFailed', 1],
      ['AuthFailures', 1],
    ]);
    expect(JSON.stringify(lines)).not.toContain('wrong-pat-789');
  });

  it('warns that a bearer token will expire (issue 20, point 12) and still lets the night run', async () => {
    const report = await doctorFor()(JSON.stringify({ bearerToken: sim.bearerToken }));
    expect(report.verdict).toBe('ok');
    const credentials = lines.find((line) => line.fields['check'] === 'credentials')!;
    expect(credentials.level).toBe('warn');
    expect(credentials.fields['summary']).toMatch(/bearer token .*accepted.*expires and nothing renews it/);
    expect(credentials.fields['fix']).toMatch(/Personal Access Token/);
    expect(JSON.stringify(lines)).not.toContain(sim.bearerToken);
    expect(() => stopOnFailedCheck(report)).not.toThrow();
  });

  it('stops the night when the bucket records another time zone', async () => {
    const report = await doctorFor('America/New_York')(JSON.stringify({ login: sim.login, pat: sim.pat }));
    expect(report.verdict).toBe('failed');
    expect(() => stopOnFailedCheck(report)).toThrow(/lake .*cut in UTC .*America\/New_York/);
    expect(metrics).toEqual([['DoctorChecksFailed', 1]]); // not an auth failure
  });
});
