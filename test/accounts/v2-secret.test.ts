import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceFromSecret } from '#handlers/credentials.ts';
import type { WorkerConfig } from '#handlers/handler-config.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { dayTask } from '#shared/archive-task.ts';
import { LivechatAuthError } from '#shared/errors.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';

// The secret shapes of the v2 source on AWS, against the simulator's account in fra.
const DAY = '2026-05-04';
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ from: DAY, to: DAY, chatsPerDay: () => 30, region: 'fra' });
});
afterAll(async () => {
  await sim.close();
});

const config: Pick<WorkerConfig, 'SOURCE' | 'REGION' | 'BUSY_DAY_THRESHOLD'> = {
  SOURCE: 'v2',
  REGION: 'fra',
  BUSY_DAY_THRESHOLD: 2000,
};

async function firstPage(secret: unknown) {
  const source = sourceFromSecret(config, { apiUrl: sim.url, baseRetryDelayMs: 5 })(JSON.stringify(secret));
  const sink = new LocalFileSink(await mkdtemp(join(tmpdir(), 'lake-')));
  return source.planDay(dayTask('run-1', DAY, 1, {}, 'UTC'), 'p1', { sink, now: () => new Date() });
}

describe('v2 secret shapes (worker)', () => {
  it.each([
    ['{"login","pat"}', { login: 'demo@example.com', pat: 'demo-pat' }],
    ['{"bearerToken"}', { bearerToken: 'demo-bearer-token' }],
    ['the legacy {"login","apiKey"}', { login: 'demo@example.com', apiKey: 'demo-api-key' }],
    ['a bearer token before a PAT', { bearerToken: 'demo-bearer-token', login: 'demo@example.com', pat: 'wrong' }],
  ])('reads with %s, sending X-Region from REGION', async (_name, secret) => {
    expect((await firstPage(secret)).total).toBe(30);
  });

  it('names the refused credential kind and archives_read, never the secret', async () => {
    const error = await firstPage({ login: 'demo@example.com', pat: 'hunter2-pat' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LivechatAuthError);
    expect((error as Error).message).toMatch(/Personal Access Token .*archives_read/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('refuses a secret of no known shape with the shapes it accepts', () => {
    expect(() => sourceFromSecret(config, { apiUrl: sim.url })('{"login":"x"}')).toThrow(
      /must be JSON \{"login": "...", "pat": "..."\}, \{"bearerToken": "..."\} or the legacy \{"login": "...", "apiKey": "..."\}/,
    );
  });
});
