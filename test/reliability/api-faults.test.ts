import { afterEach, describe, expect, it } from 'vitest';
import { type FaultOptions, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { archiveLocally, expectLakeMatchesSimulator } from '#test/support/local-archive.ts';

const DAYS = ['2026-08-01', '2026-08-02', '2026-08-03'];
let sim: RunningSimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function archiveWith(faults: FaultOptions, options: Parameters<typeof archiveLocally>[2] = {}) {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 80, faults });
  const result = await archiveLocally(sim, DAYS, options);
  return { ...result, sim };
}

const scripted = (fault: NonNullable<FaultOptions['script']>[number]['fault'], extra = {}) => ({
  script: [
    { fault, times: 3, ...extra },
    { fault, page: 2, times: 2, ...extra },
  ],
});

describe('API faults, alone and mixed: the run completes with every chat once', () => {
  it.each<[string, FaultOptions]>([
    ['429 with Retry-After', scripted('429', { retryAfterSeconds: 0 })],
    ['429 without Retry-After', scripted('429', { retryAfterSeconds: null })],
    ['429 with an absurd Retry-After (capped)', scripted('429', { retryAfterSeconds: 31_536_000 })],
    ['500', scripted('500')],
    ['502', scripted('502')],
    ['503', scripted('503')],
    ['connection resets', scripted('reset')],
    ['truncated JSON', scripted('malformed')],
    ['HTML error pages', scripted('html')],
    ['responses slower than the timeout', { slowMs: 3_000, ...scripted('slow') }],
    ['an empty chats page in the middle of a day', { script: [{ fault: 'empty', page: 2, times: 2 }] }],
    [
      'all of them at random',
      {
        rate429: 0.05,
        retryAfterSeconds: 0,
        rate5xx: 0.05,
        rateReset: 0.03,
        rateMalformed: 0.03,
        rateHtml: 0.03,
        rateEmptyPage: 0.03,
        rateSlow: 0.02,
        slowMs: 3_000,
      },
    ],
  ])('%s', async (_name, faults) => {
    const { out, manifest, sim } = await archiveWith(faults, { timeoutMs: 500 });
    expect(manifest.complete).toBe(true);
    const checked = await expectLakeMatchesSimulator(out, sim, DAYS);
    expect(checked).toBe(240);
    expect(sim.stats().faultsInjected).not.toEqual({});
  });

  it('treats an empty page that should hold chats as drift, not as the end of the day', async () => {
    const { manifest, events } = await archiveWith({ script: [{ fault: 'empty', page: 3, times: 1 }] });
    expect(manifest.complete).toBe(true);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'drift', reason: 'page 3 has 0 chats, expected 25' }),
    );
  });
});

describe('drift at every position', () => {
  // 80 chats = 4 pages = 4 requests: the planning request (page 1), then pages 2, 3 and 4.
  it.each<[string, number]>([
    ['before page 1 is planned', 0],
    ['between planning (page 1) and page 2', 1],
    ['between later pages', 2],
    ['during the last page', 3],
  ])('chats added %s end up exactly once', async (_name, afterRequests) => {
    const { out, manifest, sim } = await archiveWith(
      { drift: [{ day: DAYS[1]!, afterRequests, addChats: 2, position: 'random' }] },
      { concurrency: 1 },
    );
    expect(manifest.complete).toBe(true);
    await expectLakeMatchesSimulator(out, sim, DAYS);
    expect(sim.chats(DAYS[1]!)).toHaveLength(82);
  });

  it('repeated drift: re-archived up to the bound, then reported incomplete, never claimed complete', async () => {
    const { manifest } = await archiveWith(
      { drift: [{ day: DAYS[2]!, afterRequests: 2, addChats: 1, times: 1_000 }] },
      { maxAttempts: 4 },
    );
    expect(manifest.complete).toBe(false);
    expect(manifest.days.find((day) => day.day === DAYS[2])).toMatchObject({ status: 'incomplete', attempts: 4 });
    expect(manifest.days.filter((day) => day.status === 'complete')).toHaveLength(2);
  });
});

describe('rate limits', () => {
  it('finishes at concurrency 8 against an API allowing 20 requests a second, with 429s bounded', async () => {
    const { out, manifest, retries, sim } = await archiveWith({ rateLimitPerSecond: 20 }, { concurrency: 8 });
    expect(manifest.complete).toBe(true);
    await expectLakeMatchesSimulator(out, sim, DAYS);
    const successful = sim.stats().byStatus['200'] ?? 0;
    const limited = sim.stats().byStatus['429'] ?? 0;
    // Backing off as a group keeps refusals well under one per successful request.
    expect(limited).toBeLessThan(successful);
    expect(retries.filter((retry) => retry.reason === 'rate-limited')).toHaveLength(limited);
  });
});

describe('drift the API does not admit', () => {
  it('a chat repeated on a later page while `total` stays the same is caught and the day re-archived', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runArchive } = await import('#pipeline/archive-run.ts');
    const { v2Source } = await import('#sources/v2/v2-source.ts');
    const { LocalFileSink } = await import('#lake/sinks/local-file-sink.ts');
    const { chatIdsByDay } = await import('#test/support/lake-reader.ts');
    const day = '2026-08-10';
    const original = Array.from({ length: 75 }, (_, index) => ({ id: `C${String(index).padStart(3, '0')}` }));
    const grown = [{ id: 'NEW' }, ...original];
    // First pass: page 1 as it was; later pages already shifted by a new chat while `total` stays 75.
    // Page 2 then repeats C024 and C074 falls off the end: only the repeated id gives it away.
    let pass = 0;
    const client = {
      listChats: async ({ page }: { page: number }) => {
        if (page === 1) pass += 1;
        const list = pass === 1 && page === 1 ? original : grown;
        const total = pass === 1 ? original.length : grown.length;
        return { chats: list.slice((page - 1) * 25, page * 25), total, pages: Math.ceil(total / 25) };
      },
    };
    const out = await mkdtemp(join(tmpdir(), 'lake-'));
    const manifest = await runArchive({
      runId: 'r',
      days: [day],
      source: v2Source(client as never),
      sink: new LocalFileSink(out),
      concurrency: 1,
    });
    expect(manifest.complete).toBe(true);
    expect(manifest.days[0]).toMatchObject({ attempts: 2, driftSeen: 1, expectedTotal: 76, chatsWritten: 76 });
    const ids = (await chatIdsByDay(out)).get(day)!;
    expect([...ids].sort()).toEqual(grown.map((chat) => chat.id).sort());
  });
});
