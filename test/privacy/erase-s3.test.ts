import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eraseCommand } from '#cli/erase-command.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { recordHasIdentifier, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { capture } from '#test/support/cli-runner.ts';
import { archiveLocally } from '#test/support/local-archive.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const DAYS = ['2026-03-02', '2026-03-03'];
let sim: RunningSimulator;
let bucket: ReturnType<typeof mockVersionedBucket>;

beforeAll(async () => {
  sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: 50, seed: 11 });
});
afterAll(() => sim.close());
afterEach(() => bucket.restore());

/** Archives the days twice into a versioned bucket: the second run (a lookback) leaves noncurrent versions. */
async function versionedLake() {
  bucket = mockVersionedBucket('lake-bucket');
  const sink = () => new S3Sink(bucket.client, 'lake-bucket', 'archive');
  await archiveLocally(sim, DAYS, { sink });
  await archiveLocally(sim, DAYS, { sink });
  return bucket;
}

function records(body: Buffer): Record<string, unknown>[] {
  return gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

async function erase(args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await eraseCommand([...args, '--bucket', 'lake-bucket', '--prefix', 'archive'], {
    stdout: stdout.stream,
    stderr: stderr.stream,
    s3: bucket.client,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('erase a visitor from an S3 lake (versioned bucket)', () => {
  it('rewrites current objects and deletes every noncurrent version that held the visitor; nothing else goes', async () => {
    await versionedLake();
    const visitorIds = sim.allChats().map((chat) => chat['visitor_id'] as string);
    const visitorId = visitorIds.find((id) => visitorIds.indexOf(id) !== visitorIds.lastIndexOf(id))!;
    const target: VisitorIdentifier = { kind: 'visitor-id', value: visitorId };
    const chatVersions = () => bucket.allVersions().filter((v) => v.key.startsWith('archive/chats/'));
    const holding = chatVersions().filter((v) => records(v.body).some((r) => recordHasIdentifier(r, target)));
    const holdingIds = new Set(holding.map((v) => v.versionId));
    const notHolding = chatVersions().filter((v) => !holdingIds.has(v.versionId));
    const currentHolding = holding.filter((v) => bucket.current(v.key) === v.body).length;
    expect(holding.length).toBeGreaterThan(currentHolding); // noncurrent copies exist

    const dry = await erase(['--visitor-id', visitorId, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`, ${holding.length - currentHolding} noncurrent versions? to delete`));
    expect(chatVersions()).toHaveLength(holding.length + notHolding.length);

    const result = await erase(['--visitor-id', visitorId]);
    expect(result.code).toBe(0);
    const expectedChats = sim.allChats().filter((chat) => chat['visitor_id'] === visitorId).length;
    expect(result.stdout).toMatch(
      new RegExp(
        `^erased ${expectedChats} chats? from ${currentHolding} files?, ${holding.length} noncurrent versions? deleted`,
      ),
    );
    // ^ the versions the rewrite itself made noncurrent are deleted too

    // No version anywhere holds the visitor; every version that never held them is still there.
    const after = chatVersions();
    expect(after.filter((v) => records(v.body).some((r) => recordHasIdentifier(r, target)))).toEqual([]);
    for (const version of notHolding) expect(after.map((v) => v.versionId)).toContain(version.versionId);
    // The current lake holds every other chat exactly once.
    const currentIds = bucket
      .currentKeys()
      .filter((key) => key.startsWith('archive/chats/'))
      .flatMap((key) => records(bucket.current(key)!).map((r) => r['id']));
    const expectedIds = sim
      .allChats()
      .filter((chat) => chat['visitor_id'] !== visitorId)
      .map((chat) => chat.id);
    expect(currentIds.sort()).toEqual(expectedIds.sort());
    // No manifest version carries the raw identifier.
    for (const version of bucket.allVersions().filter((v) => v.key.startsWith('archive/manifests/'))) {
      expect(version.body.toString('utf8'), version.key).not.toContain(visitorId);
    }
  });

  it('an unknown visitor erases nothing and deletes no version (exit 0, "0 chats")', async () => {
    await versionedLake();
    const before = bucket.allVersions().filter((v) => v.key.startsWith('archive/chats/')).length;
    const result = await erase(['--email', 'nobody@nowhere.example']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^erased 0 chats from 0 files, 0 noncurrent versions deleted/);
    expect(bucket.allVersions().filter((v) => v.key.startsWith('archive/chats/'))).toHaveLength(before);
  });
});
