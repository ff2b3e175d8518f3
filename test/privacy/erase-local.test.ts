import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERASE_EXIT, eraseCommand } from '#cli/erase-command.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { ERASURES_PREFIX, SALT_KEY } from '#privacy/erasure-records.ts';
import { recordHasIdentifier, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { type Chat, type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { capture } from '#test/support/cli-runner.ts';
import { copyLake, lakeLines, lakeSnapshot } from '#test/support/lake-copy.ts';
import { archiveLocally } from '#test/support/local-archive.ts';

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04'];
let sim: RunningSimulator;
let original: string;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: 60, seed: 7 });
  ({ out: original } = await archiveLocally(sim, DAYS));
});
afterAll(() => sim.close());

/** A returning visitor (chats on more than one day) and an e-mail a visitor gave in a pre-chat form. */
function pickVisitors() {
  const byVisitor = new Map<string, Chat[]>();
  for (const chat of sim.allChats()) byVisitor.set(visitorOf(chat), [...(byVisitor.get(visitorOf(chat)) ?? []), chat]);
  const [visitorId] = [...byVisitor].find(([, chats]) => new Set(chats.map((c) => dayOf(c))).size > 1)!;
  const address = sim
    .allChats()
    .flatMap((chat) => (chat['prechat_survey'] ?? []) as Array<{ key: string; value: string }>)
    .find((answer) => answer.key === 'E-mail:' && answer.value)!.value;
  return { visitorId, address };
}

const visitorOf = (chat: Chat) => chat['visitor_id'] as string;
const dayOf = (chat: Chat) => new Date(chat.started_timestamp * 1000).toISOString().slice(0, 10);

async function run(args: string[], signal?: AbortSignal) {
  const stdout = capture();
  const stderr = capture();
  const code = await eraseCommand(args, { stdout: stdout.stream, stderr: stderr.stream, signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('erase a visitor from a local lake', () => {
  it('removes every chat of the visitor id; every other record stays, byte-identical', async () => {
    const { visitorId } = pickVisitors();
    const target: VisitorIdentifier = { kind: 'visitor-id', value: visitorId };
    const lake = await copyLake(original);
    const before = await lakeLines(lake);
    const beforeFiles = await lakeSnapshot(lake);

    const result = await run(['--visitor-id', visitorId, '--out', lake]);

    const expected = sim.allChats().filter((chat) => visitorOf(chat) === visitorId).length;
    expect(expected).toBeGreaterThan(1);
    expect(result.code).toBe(ERASE_EXIT.ok);
    expect(result.stdout).toMatch(new RegExp(`^erased ${expected} chats from \\d+ files?`));
    expect(result.stdout + result.stderr).not.toContain(visitorId);
    const after = await lakeLines(lake);
    const kept = before.filter(([, line]) => !recordHasIdentifier(JSON.parse(line), target));
    expect(before.length - kept.length).toBe(expected);
    expect(after).toEqual(kept);
    // Files without the visitor are the very same files.
    const afterFiles = await lakeSnapshot(lake);
    const touched = result.stdout
      .split('\n')
      .filter((line) => line.startsWith('  chats/'))
      .map((line) => line.trim());
    for (const [file, hash] of beforeFiles) {
      if (file.startsWith('chats/') && !touched.includes(file)) expect(afterFiles.get(file), file).toBe(hash);
    }
  });

  it('erases by e-mail found in any field, case-insensitively, and a dry run changes nothing', async () => {
    const { address } = pickVisitors();
    const target: VisitorIdentifier = { kind: 'email', value: address.toLowerCase() };
    const lake = await copyLake(original);
    const before = await lakeSnapshot(lake);
    const expected = (await lakeLines(lake)).filter(([, line]) => recordHasIdentifier(JSON.parse(line), target));
    expect(expected.length).toBeGreaterThan(0);

    const dry = await run(['--email', address.toUpperCase(), '--out', lake, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`dry run: ${expected.length} chat`);
    expect(await lakeSnapshot(lake)).toEqual(before);

    const real = await run(['--email', address.toUpperCase(), '--out', lake]);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain(`erased ${expected.length} chat`);
    const remaining = (await lakeLines(lake)).filter(([, line]) => recordHasIdentifier(JSON.parse(line), target));
    expect(remaining).toEqual([]);
  });

  it('writes an erasure record with a salted hash, counts and file keys, and no raw identifier in any manifest', async () => {
    const { visitorId, address } = pickVisitors();
    const lake = await copyLake(original);
    await run(['--visitor-id', visitorId, '--out', lake]);
    await run(['--email', address, '--out', lake]);

    const sink = new LocalFileSink(lake);
    const records = (await sink.list(ERASURES_PREFIX)).filter((key) => key !== SALT_KEY);
    expect(records).toHaveLength(2);
    const record = JSON.parse(await readFile(join(lake, records.find((key) => key.includes('visitor-id-'))!), 'utf8'));
    expect(record).toMatchObject({ v: 1, kind: 'visitor-id', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(record.runs).toEqual([
      {
        at: expect.any(String),
        chats: sim.allChats().filter((chat) => visitorOf(chat) === visitorId).length,
        files: expect.arrayContaining([expect.stringMatching(/^chats\/dt=/)]),
        versionsDeleted: 0,
        complete: true,
      },
    ]);
    for (const key of await sink.list('manifests/')) {
      const text = await readFile(join(lake, key), 'utf8');
      expect(text, key).not.toContain(visitorId);
      expect(text.toLowerCase(), key).not.toContain(address.toLowerCase());
    }
  });

  it('an erase interrupted midway leaves every file old or new; running it again completes it', async () => {
    const { visitorId } = pickVisitors();
    const target: VisitorIdentifier = { kind: 'visitor-id', value: visitorId };
    const reference = await copyLake(original);
    await eraseVisitor({ sink: new LocalFileSink(reference), target });
    const finalFiles = await lakeSnapshot(reference);

    const lake = await copyLake(original);
    const oldFiles = await lakeSnapshot(lake);
    const abort = new AbortController();
    const sink = new LocalFileSink(lake);
    const stopAfterFirstRewrite: LocalFileSink = Object.assign(Object.create(sink), {
      replaceIfUnchanged: async (key: string, version: string, body: Uint8Array | undefined) => {
        const swapped = await sink.replaceIfUnchanged(key, version, body);
        if (key.startsWith('chats/')) abort.abort();
        return swapped;
      },
    });
    const first = await eraseVisitor({ sink: stopAfterFirstRewrite, target, concurrency: 1, signal: abort.signal });
    expect(first.complete).toBe(false);
    expect(first.files).toHaveLength(1);
    const midway = await lakeSnapshot(lake);
    for (const [file, hash] of midway) {
      if (file.startsWith('chats/')) expect([oldFiles.get(file), finalFiles.get(file)], file).toContain(hash);
    }

    const again = await run(['--visitor-id', visitorId, '--out', lake]);
    expect(again.code).toBe(0);
    const done = await lakeSnapshot(lake);
    for (const [file, hash] of finalFiles) if (file.startsWith('chats/')) expect(done.get(file), file).toBe(hash);
    expect([...done.keys()].filter((file) => file.startsWith('chats/'))).toEqual(
      [...finalFiles.keys()].filter((file) => file.startsWith('chats/')),
    );
  });
});

describe('erase: bad input', () => {
  it('an unknown visitor erases nothing and says "0 chats" (exit 0)', async () => {
    const lake = await copyLake(original);
    const before = await lakeSnapshot(lake);
    const result = await run(['--visitor-id', 'S0000000000.nobody', '--out', lake]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^erased 0 chats from 0 files/);
    const after = await lakeSnapshot(lake);
    for (const [file, hash] of before) expect(after.get(file), file).toBe(hash);
  });

  it.each([
    [['--email', 'not-an-address', '--out', 'x'], 'error: --email is not a valid e-mail address'],
    [['--out', 'x'], 'error: give the visitor to erase: --visitor-id ID or --email ADDRESS'],
    [['--visitor-id', 'S1.a'], 'error: give the lake: --out DIR or --bucket NAME'],
    [['--visitor-id', 'S1.a', '--email', 'a@b.co', '--out', 'x'], 'error: give either --visitor-id or --email'],
    [['--visitor-id', 'S1.a', '--out', 'x', '--bucket', 'b'], 'error: give either --out or --bucket, not both'],
  ])('%j is one clear error line (exit 2)', async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(ERASE_EXIT.usage);
    expect(result.stderr.split('\n')[0]).toContain(message);
    expect(result.stdout).toBe('');
    if (args.includes('not-an-address')) expect(result.stderr).not.toContain('not-an-address');
  });
});
