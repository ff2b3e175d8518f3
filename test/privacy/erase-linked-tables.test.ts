import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEraseResult } from '#cli/erase-command.ts';
import { decodeNdjsonGzip, encodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { type RunningV36Simulator, startV36Simulator } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';
import { chatIdsByDay } from '#test/support/lake-reader.ts';

const DAYS = ['2026-06-01', '2026-06-02'];
let sim: RunningV36Simulator;
beforeAll(async () => {
  sim = await startV36Simulator({ from: DAYS[0]!, to: DAYS[1]!, chatsPerDay: 30, seed: 9 });
});
afterAll(() => sim.close());

type RawArchive = { thread: { id: string }; users: Array<{ id: string; type: string; email?: string }> };

/**
 * A lake with two tables of one conversation each: `chats/` as the CLI writes it (v3.6 mapped
 * rows, no customer e-mail) and a raw table `archives/` of the list_archives entries with the
 * customer's `email` (a documented customer field: shared/notes/livechat-api-facts.md, section 4).
 */
async function twoTableLake(emailOf: (customerId: string) => string) {
  const out = await mkdtemp(join(tmpdir(), 'lake-two-tables-'));
  const run = await runArchiveCli(
    ['--from', DAYS[0]!, '--to', DAYS[1]!, '--out', out, '--api-url', sim.url, '--source', 'v3.6'],
    { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
  );
  expect(run.code).toBe(0);
  const sink = new LocalFileSink(out);
  for (const day of DAYS) {
    // The CLI writes the raw table too (chat_threads); replace it with entries that carry the e-mail.
    await sink.delete(await sink.list(`archives/dt=${day}/`));
    const raw = (sim.archives(day) as unknown as RawArchive[]).map((archive) => ({
      ...archive,
      users: archive.users.map((user) => (user.type === 'customer' ? { ...user, email: emailOf(user.id) } : user)),
    }));
    await sink.put(`archives/dt=${day}/part-00001.json.gz`, await encodeNdjsonGzip(raw), 'ndjson-gzip');
  }
  return { out, sink };
}

describe('erase across tables', () => {
  it('an e-mail found only in the raw table erases the derived chats rows of the same conversations too', async () => {
    const raws = DAYS.flatMap((day) => sim.archives(day) as unknown as RawArchive[]);
    const customerOf = (raw: RawArchive) => raw.users.find((user) => user.type === 'customer')!.id;
    const visitor = customerOf(raws[0]!);
    const { out, sink } = await twoTableLake((id) => (id === visitor ? 'Erase.Me@Example.com' : `${id}@example.org`));
    const threads = new Set(raws.filter((raw) => customerOf(raw) === visitor).map((raw) => raw.thread.id));

    const result = await eraseVisitor({
      sink,
      target: { kind: 'email', value: 'erase.me@example.com' },
      tables: ['chats/', 'archives/'],
    });

    expect(result.chats).toBe(threads.size); // one conversation, one chat
    expect(result.rows).toBe(threads.size * 2); // a row in chats and one in chat_threads
    expect(formatEraseResult(result, false)).toMatch(
      new RegExp(`^erased ${threads.size} chats? \\(${threads.size * 2} rows across the chat tables\\) from `),
    );
    const chats = [...(await chatIdsByDay(out)).values()].flat();
    expect(chats.filter((id) => threads.has(id))).toEqual([]);
    expect(chats).toHaveLength(raws.length - threads.size);
    for (const day of DAYS) {
      const left = await decodeNdjsonGzip<RawArchive>((await sink.get(`archives/dt=${day}/part-00001.json.gz`))!);
      expect(left.filter((raw) => threads.has(raw.thread.id))).toEqual([]);
    }
  });
});
