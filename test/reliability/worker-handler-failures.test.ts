/**
 * Issue 28, item 6 (second test, as the issue words it): the deployed Lambda handlers — the planner
 * and the worker with its SQS batch event and partial batch responses — run a night against the
 * simulator over aws-sdk-client-mock: S3 is a versioned in-memory bucket that honours If-None-Match
 * and If-Match as S3 does (412 PreconditionFailed, test/support/versioned-s3-mock.ts), SQS a queue
 * in memory. One call fails at a time: each PutObject (plain, If-None-Match: the lake records and
 * drift claims, If-Match: an erasure's compare-and-swap), each DeleteObject(s) and each
 * SendMessageBatch in turn. The worker's batch item failures come back as SQS redelivers them
 * after the visibility timeout; a planner that failed is invoked again, as the schedule's retry
 * does. Whatever failed, each day ends settled: every chat once, as LiveChat serves it now, and no
 * pass file left over. Attachments are on, as deployed: the settle tasks queue files tasks, whose
 * writes (the bytes, then the `chat_files` row) and sends fail in turn like the others, and every
 * file the chats point to ends stored once, byte for byte, with one row each.
 */

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHAT_FILES_PREFIX, CHATS_PREFIX, FILES_PREFIX } from '#lake/lake-layout.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { eraseVisitor } from '#privacy/erase-visitor.ts';
import { S3NoncurrentVersions } from '#privacy/object-versions.ts';
import { recordHasIdentifier, type VisitorIdentifier } from '#privacy/visitor-identifiers.ts';
import { simulatedFileBytes, storableFromSimulator } from '#simulator/attachment-files.ts';
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '#simulator/index.ts';
import { duplicatesOf } from '#test/support/lake-reader.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';
import { mockVersionedBucket } from '#test/support/versioned-s3-mock.ts';

const BUCKET = 'lake-bucket';
const DAYS = ['2026-07-01', '2026-07-02'];
/** The deployed worker's batch size (lib/config.ts batchSize default). */
const BATCH_SIZE = 5;
const CALLS = ['put', 'put-if-none-match', 'put-if-match', 'delete', 'send'] as const;
type Call = (typeof CALLS)[number];
type Chat = Record<string, unknown>;

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
let bucket: ReturnType<typeof mockVersionedBucket> | undefined;
let worker: typeof import('#handlers/worker.ts')['handler'];
let planner: typeof import('#handlers/planner.ts')['handler'];
/** The handlers read their environment once, at import: one simulator URL for the file. */
let sim: RunningSimulator;

const simulatorOptions = (faults?: SimulatorOptions['faults']): SimulatorOptions => ({
  from: DAYS[0]!,
  to: DAYS.at(-1)!,
  chatsPerDay: () => 60,
  seed: 28,
  ...(faults ? { faults } : {}),
});

beforeAll(async () => {
  sim = await startSimulator(simulatorOptions());
  // Attachments on, as the stack deploys them, from the simulator's own host with a 1 MiB cap.
  stubFunctionEnv(sim.url, { ATTACHMENTS: 'on', ATTACHMENT_HOSTS: '127.0.0.1', MAX_ATTACHMENT_MB: '1' });
  ({ handler: worker } = await import('#handlers/worker.ts'));
  ({ handler: planner } = await import('#handlers/planner.ts'));
});
afterAll(async () => {
  await sim.close();
  sqsMock.restore();
  secretsMock.restore();
});
afterEach(() => {
  bucket?.restore();
  bucket = undefined;
});

/** A failure that outlasted the SDK's own retries. */
const injected = (call: Call) =>
  new S3ServiceException({
    name: 'InternalError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
    message: `injected ${call} failure`,
  });

interface Night {
  calls: Record<Call, number>;
  /** The call that failed (undefined: none did, or none was asked). */
  failed?: string;
  plannerInvocations: number;
  workerInvocations: number;
  redelivered: number;
  /** Drift claims written (If-None-Match on `manifests/drift-claims/…`). */
  claims: number;
  /** Calls that wrote a file's bytes or its `chat_files` row, or sent files tasks. */
  filesCalls: number;
}

/**
 * One night through the handlers: the planner queues the days, the worker takes the queue five
 * messages a batch until it is empty. `fail` fails the `at`-th call of its kind once; `during`
 * runs before every S3 request (the test's own S3 calls inside it are neither counted nor failed).
 */
async function runNight(
  request: { from: string; to: string },
  fail?: { call: Call; at: number },
  during?: (command: string, input: Record<string, unknown>) => Promise<void>,
): Promise<Night> {
  bucket?.restore();
  bucket = mockVersionedBucket(BUCKET);
  const night: Night = {
    calls: { put: 0, 'put-if-none-match': 0, 'put-if-match': 0, delete: 0, send: 0 },
    plannerInvocations: 0,
    workerInvocations: 0,
    redelivered: 0,
    claims: 0,
    filesCalls: 0,
  };
  let testCalls = false;
  const maybeFail = (call: Call, what: string) => {
    if (testCalls) return;
    night.calls[call] += 1;
    if (/^(files|chat-files)\/|files tasks/.test(what)) night.filesCalls += 1;
    if (fail && !night.failed && fail.call === call && night.calls[call] === fail.at) {
      night.failed = `${call} #${fail.at} (${what})`;
      throw injected(call);
    }
  };
  if (during)
    bucket.beforeSend(async (command, input) => {
      if (testCalls) return;
      testCalls = true;
      try {
        await during(command, input);
      } finally {
        testCalls = false;
      }
    });
  bucket.beforeSend(async (command, input) => {
    const key = String(input['Key'] ?? '');
    if (command === 'PutObject') {
      if (input['IfNoneMatch'] && key.includes('manifests/drift-claims/') && !testCalls) night.claims += 1;
      maybeFail(input['IfNoneMatch'] ? 'put-if-none-match' : input['IfMatch'] ? 'put-if-match' : 'put', key);
    }
    if (command === 'DeleteObject') maybeFail('delete', key);
    if (command === 'DeleteObjects') maybeFail('delete', 'DeleteObjects');
  });

  const queue: string[] = [];
  sqsMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    const entries = input.Entries ?? [];
    const files = entries.some((entry) => entry.MessageBody?.includes('"kind":"files"'));
    maybeFail('send', `${entries.length} messages${files ? ' (files tasks)' : ''}`);
    queue.push(...entries.map((entry) => entry.MessageBody!));
    return { Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: entry.Id, MD5OfMessageBody: '' })) };
  });
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ login: sim.login, pat: sim.pat }) });

  // The schedule (or the operator) invokes the planner again when it failed; same request id as a retry.
  for (;;) {
    night.plannerInvocations += 1;
    if (night.plannerInvocations > 3) throw new Error('the planner failed three times');
    try {
      await planner(request, lambdaContext('backfill-28'));
      break;
    } catch {}
  }
  while (queue.length > 0) {
    night.workerInvocations += 1;
    if (night.workerInvocations > 200) throw new Error('the queue does not drain');
    const batch = queue.splice(0, BATCH_SIZE);
    let failedBodies: string[];
    try {
      const response = await worker(sqsEvent(batch), lambdaContext(`worker-${night.workerInvocations}`));
      failedBodies = response.batchItemFailures.map((failure) => batch[Number(failure.itemIdentifier.slice(4))]!);
    } catch {
      failedBodies = batch; // every record failed: the whole batch comes back
    }
    night.redelivered += failedBodies.length;
    queue.push(...failedBodies);
  }
  return night;
}

const decode = (body: Uint8Array): Chat[] =>
  gunzipSync(body)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Chat);

/** Each day settled into one file set, holding every chat LiveChat serves now (but `erased`'s) once. */
function expectNightSettled(days: readonly string[], erased?: VisitorIdentifier) {
  const keys = bucket!.currentKeys().filter((key) => key.startsWith(CHATS_PREFIX));
  for (const day of days) {
    const dayKeys = keys.filter((key) => key.startsWith(`${CHATS_PREFIX}dt=${day}/`));
    // No pass file left over, one settling's output only.
    const digests = new Set(dayKeys.map((key) => /\/settled-([0-9a-f]+)-part-\d+\.json\.gz$/.exec(key)?.[1]));
    expect([...digests], `files of ${day}: ${dayKeys.join(', ')}`).toHaveLength(1);
    expect(digests.has(undefined), `files of ${day}: ${dayKeys.join(', ')}`).toBe(false);
    const stored = dayKeys.flatMap((key) => decode(bucket!.current(key)!));
    const ids = stored.map((chat) => String(chat['id']));
    expect(duplicatesOf(ids), `duplicates on ${day}`).toEqual([]);
    const expected = sim.chats(day).filter((chat) => !erased || !recordHasIdentifier(chat, erased));
    expect([...ids].sort(), `chats of ${day}`).toEqual(expected.map((chat) => chat.id).sort());
    const byId = new Map(stored.map((chat) => [String(chat['id']), chat]));
    for (const chat of expected) expect(byId.get(chat.id), chat.id).toMatchObject(chat);
    expectFilesStored(day, expected);
  }
}

/** Every file the day's chats point to: one `chat_files` row; served ones stored once, byte-identical; nothing else. */
function expectFilesStored(day: string, chats: readonly Chat[]) {
  const refs = chats.flatMap((chat) =>
    ((chat['events'] as Chat[] | undefined) ?? [])
      .filter((event) => event['type'] === 'attachment')
      .flatMap((event) => (event['files'] as string[]).map((url) => ({ chat: String(chat['id']), url }))),
  );
  const keys = bucket!.currentKeys();
  const rows = keys
    .filter((key) => key.startsWith(`${CHAT_FILES_PREFIX}dt=${day}/`))
    .map((key) => JSON.parse(Buffer.from(bucket!.current(key)!).toString('utf8')) as Record<string, string | null>);
  expect(rows.map((row) => `${row['chat_id']} ${row['url']}`).sort(), `chat_files rows of ${day}`).toEqual(
    refs.map(({ chat, url }) => `${chat} ${url}`).sort(),
  );
  const storable = rows.filter((row) => storableFromSimulator(row['url']!));
  for (const row of storable) {
    expect(row['status'], row['url']!).toBe('stored');
    const served = simulatedFileBytes(row['url']!)!;
    const stored = bucket!.current(row['lake_key']!);
    expect(stored && Buffer.compare(Buffer.from(stored), served), row['url']!).toBe(0);
    expect(row['sha256']).toBe(createHash('sha256').update(served).digest('hex'));
  }
  const files = keys.filter((key) => key.startsWith(`${FILES_PREFIX}dt=${day}/`));
  expect(files.sort(), `stored files of ${day}`).toEqual(storable.map((row) => row['lake_key']).sort());
}

/** Runs a clean night, then one night per call of each kind, failing that call once. */
async function everyCallFailsOnce(
  scenario: () => Promise<{ request: { from: string; to: string }; during?: Parameters<typeof runNight>[2] }>,
  check: (night: Night) => void,
): Promise<{ clean: Night; failures: string[] }> {
  const setup = await scenario();
  const clean = await runNight(setup.request, undefined, setup.during);
  check(clean);
  const failures: string[] = [];
  let filesFailures = 0;
  for (const call of CALLS) {
    for (let at = 1; at <= clean.calls[call]; at += 1) {
      const { request, during } = await scenario();
      const night = await runNight(request, { call, at }, during);
      expect(night.failed, `${call} #${at} was reached`).toBeDefined();
      if (/^\S+ #\d+ \((files|chat-files)\/|files tasks\)/.test(night.failed!)) filesFailures += 1;
      expect(night.redelivered + night.plannerInvocations - 1, `${night.failed} came back`).toBeGreaterThan(0);
      check(night);
      failures.push(night.failed!);
    }
  }
  // The files tasks' writes and sends were among the calls failed.
  expect(filesFailures).toBeGreaterThan(0);
  return { clean, failures };
}

/** Restarts the simulator on its port with these faults (the handlers keep the URL they read at import). */
async function restartSimulator(faults?: SimulatorOptions['faults']): Promise<void> {
  const port = Number(new URL(sim.url).port);
  await sim.close();
  sim = await startSimulator({ ...simulatorOptions(faults), port });
}

const NIGHT = { from: DAYS[0]!, to: DAYS.at(-1)! };

describe('the Lambda handlers through injected AWS failures (issue 28, item 6)', { timeout: 600_000 }, () => {
  it('each PutObject, conditional PutObject, delete and send of a night fails once: every chat once', async () => {
    const { clean, failures } = await everyCallFailsOnce(
      async () => ({ request: NIGHT }),
      () => expectNightSettled(DAYS),
    );
    for (const call of ['put', 'put-if-none-match', 'delete', 'send'] as const)
      expect(clean.calls[call], `a clean night makes ${call} calls`).toBeGreaterThan(0);
    expect(clean.filesCalls, 'a clean night writes files and rows and sends files tasks').toBeGreaterThan(10);
    expect(failures.length).toBe(Object.values(clean.calls).reduce((sum, n) => sum + n, 0));
  });

  it('while a day drifts: each write, drift claim, delete and send fails once; the day is re-archived, every chat once', async () => {
    const { clean } = await everyCallFailsOnce(
      async () => {
        await restartSimulator({ drift: [{ day: DAYS[0]!, afterRequests: 2, addChats: 2, position: 'newest' }] });
        return { request: NIGHT };
      },
      () => expectNightSettled(DAYS),
    );
    expect(clean.claims, 'the drift is claimed').toBeGreaterThan(0);
    await restartSimulator();
  });

  it('while a visitor is erased: each conditional rewrite (If-Match), write, delete and send fails once; the visitor stays out', async () => {
    const target: VisitorIdentifier = { kind: 'visitor-id', value: String(sim.chats(DAYS[0]!)[0]!['visitor_id']) };
    expect(sim.chats(DAYS[0]!).filter((chat) => recordHasIdentifier(chat, target)).length).toBeGreaterThan(0);
    const { clean } = await everyCallFailsOnce(
      async () => {
        let erased = false;
        return {
          request: NIGHT,
          // The erase comes right before the first chat file is written: that task loaded no erasure.
          during: async (command, input) => {
            if (erased || command !== 'PutObject' || !String(input['Key']).startsWith(CHATS_PREFIX)) return;
            erased = true;
            const sink = new S3Sink(bucket!.client, BUCKET);
            await eraseVisitor({ sink, target, versions: new S3NoncurrentVersions(bucket!.client, BUCKET) });
          },
        };
      },
      () => expectNightSettled(DAYS, target),
    );
    expect(clean.calls['put-if-match'], 'the raced task rewrites its file with If-Match').toBeGreaterThan(0);
  });

  it('the planner fails after queueing ten days: invoked again, it queues them twice (same run id), and each day still ends with every chat once', async () => {
    const port = Number(new URL(sim.url).port);
    await sim.close();
    sim = await startSimulator({ from: '2026-06-01', to: '2026-06-12', chatsPerDay: () => 8, seed: 28, port });
    try {
      const days = Array.from({ length: 12 }, (_, index) => `2026-06-${String(index + 1).padStart(2, '0')}`);
      const night = await runNight({ from: days[0]!, to: days.at(-1)! }, { call: 'send', at: 2 });
      expect(night.failed).toMatch(/^send #2 \(2 messages\)$/);
      expect(night.plannerInvocations).toBe(2);
      expectNightSettled(days);
    } finally {
      await restartSimulator();
    }
  });
});
