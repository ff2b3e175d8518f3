/**
 * Least privilege, checked against what ships and what runs (issue 20, point 9): the S3 grants of
 * the synthesized worker and planner roles are exactly the S3 requests their handlers make over a
 * night (day plans, pages or slices, a drift re-archive, unit-done markers, settling, a chat of an
 * erased visitor dropped), for both sources. A prefix the code writes and the role lacks fails
 * here as it would fail on AWS (AccessDenied); a grant no request uses fails too. The worker reads
 * the erasure records and their salt, and never writes or deletes anything under manifests/.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { CONTEXT_KEY } from '#infra/config.ts';
import { MANIFESTS_PREFIX } from '#lake/lake-layout.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { ensureSalt, identifierHash, writeErasureRecord } from '#privacy/erasure-records.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';
import { allows, type Need, needsOfCalls, type Statement, unusedGrants } from '#test/support/s3-permissions.ts';

const BUCKET = 'lake-bucket';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const DAYS = ['2026-06-08', '2026-06-09'];
const DRIFT = DAYS[1]!;
const aws = lambdaAwsMocks();
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  vi.unstubAllEnvs();
  vi.resetModules();
});
afterAll(() => aws.s3Mock.restore());

/** The S3 statements of a function's role in the synthesized template, with the lake bucket's ARN resolved. */
function s3Statements(source: 'v2' | 'v3.6', fn: 'planner' | 'worker', attachments = false): Statement[] {
  const { app, stack } = createArchiverApp({
    nag: false,
    context: { [CONTEXT_KEY]: { ...ALARMS_TO, source, attachments } },
  });
  const template = app.synth().getStackByName(STACK_NAME).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  };
  const idOf = (construct: IConstruct) => {
    const resource = construct instanceof CfnElement ? construct : construct.node.defaultChild;
    if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no resource`);
    return Stack.of(resource).resolve(resource.logicalId) as string;
  };
  const role = idOf(stack.functions[fn].role!);
  const bucket = idOf(stack.lake.bucket);
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as Record<string, any>;
    if (v['Fn::GetAtt']?.[0] === bucket && v['Fn::GetAtt'][1] === 'Arn') return BUCKET_ARN;
    if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(resolve).join(v['Fn::Join'][0]);
    return `unresolved:${JSON.stringify(value)}`;
  };
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === role))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[])
    .map((s) => ({ ...s, Action: [s.Action].flat().filter((a) => a.startsWith('s3:')) }))
    .filter((s) => s.Action.length > 0)
    .map((s) => ({ ...s, Resource: [s.Resource].flat().map(resolve) }));
}

/** Seeds the lake with the salt and one erasure record, as `erase` leaves them. */
async function eraseVisitor(visitorId: string): Promise<void> {
  const sink = new S3Sink(new S3Client({ region: 'eu-west-1' }), BUCKET);
  const salt = await ensureSalt(sink);
  const hash = identifierHash(salt, { kind: 'visitor-id', value: visitorId });
  await writeErasureRecord(sink, { v: 1, kind: 'visitor-id', hash, runs: [] });
}

/** Runs the planner, then the worker on every message until the queue is empty, recording S3 requests per function. */
async function night(beforeDelivery?: (body: string) => Promise<void>): Promise<{ planner: Need[]; worker: Need[] }> {
  const { handler: planner } = await import('#handlers/planner.ts');
  const { handler: worker } = await import('#handlers/worker.ts');
  aws.s3Mock.resetHistory();
  await planner({ from: DAYS[0], to: DAYS.at(-1) }, lambdaContext());
  const plannerNeeds = needsOfCalls(BUCKET_ARN, aws.s3Mock.calls());
  aws.s3Mock.resetHistory();
  const pending = aws.queuedBodies();
  expect(pending).toHaveLength(DAYS.length);
  for (let deliveries = 0; pending.length > 0; deliveries += 1) {
    if (deliveries > 500) throw new Error('the queue does not drain');
    const body = pending.shift()!;
    await beforeDelivery?.(body);
    const result = await worker(sqsEvent([body]), lambdaContext());
    expect(result.batchItemFailures).toEqual([]);
    pending.push(...aws.queuedBodies());
  }
  return { planner: plannerNeeds, worker: needsOfCalls(BUCKET_ARN, aws.s3Mock.calls()) };
}

function expectExactly(policy: Statement[], needs: Need[]) {
  const denied = needs.filter((need) => !policy.some((statement) => allows(statement, need)));
  expect(denied.map((need) => `${need.action} for ${need.request}`)).toEqual([]);
  expect(unusedGrants(policy, needs)).toEqual([]);
}

function expectManifestsOnlyRead(needs: Need[]) {
  const touched = (action: string) =>
    needs.filter((n) => n.action === action && n.resource.startsWith(`${BUCKET_ARN}/${MANIFESTS_PREFIX}`));
  expect(touched('s3:DeleteObject')).toEqual([]);
  expect(touched('s3:PutObject').filter((n) => n.resource.includes('/manifests/erasures/'))).toEqual([]);
  expect(touched('s3:GetObject').some((n) => n.resource.endsWith('/manifests/erasures/salt.json'))).toBe(true);
}

describe('function roles grant exactly the S3 requests the handlers make (issue 20, point 9)', {
  timeout: 120_000,
}, () => {
  it('v2: worker and planner over a night with a drifting day and an erased visitor', async () => {
    const sim = await startSimulator({
      from: DAYS[0]!,
      to: DAYS.at(-1)!,
      chatsPerDay: () => 60,
      faults: { drift: [{ day: DRIFT, afterRequests: 2, addChats: 2, position: 'newest' }] },
    });
    closers.push(() => sim.close());
    stubFunctionEnv(sim.url, { MAX_ATTEMPTS: '3', TIME_ZONE: 'UTC', ATTACHMENTS: 'off' });
    aws.reset({ login: sim.login, pat: sim.pat });
    await eraseVisitor(String(sim.chats(DAYS[0]!)[0]!['visitor_id']));
    const needs = await night();
    expect(needs.worker.some((n) => n.resource.includes('/manifests/dropped-chats/'))).toBe(true);
    expect(needs.worker.some((n) => /\/manifests\/drift-claims\/dt=/.test(n.resource))).toBe(true);
    expectManifestsOnlyRead(needs.worker);
    expectExactly(s3Statements('v2', 'worker'), needs.worker);
    expectExactly(s3Statements('v2', 'planner'), needs.planner);
  });

  it('v3.6: worker and planner over a night with a drifting day and an erased visitor', async () => {
    const sim = await startV36Simulator({
      from: DAYS[0]!,
      to: DAYS.at(-1)!,
      chatsPerDay: (day) => (day === DRIFT ? 150 : 40), // 150: two pages, so drift is seen after the first
      faults: { drift: [{ day: DRIFT, afterRequests: 2, addChats: 2, position: 'random' }] },
    });
    closers.push(() => sim.close());
    stubFunctionEnv(sim.url, {
      MAX_ATTEMPTS: '3',
      SOURCE: 'v3.6',
      BUSY_DAY_THRESHOLD: '200',
      TIME_ZONE: 'UTC',
      ATTACHMENTS: 'off',
      // Powertools caches a secret by id across module reloads: the v3.6 one is another secret.
      SECRET_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:livechat-v36',
    });
    aws.reset({ accountId: sim.accountId, token: sim.token });
    await eraseVisitor(String(sim.chats(DAYS[0]!)[0]!['visitor_id'] ?? ''));
    const needs = await night();
    expect(needs.worker.some((n) => /\/manifests\/drift-claims\/dt=/.test(n.resource))).toBe(true);
    expectManifestsOnlyRead(needs.worker);
    expectExactly(s3Statements('v3.6', 'worker'), needs.worker);
    expectExactly(s3Statements('v3.6', 'planner'), needs.planner);
  });

  it('attachments: the worker stores files and rows, reads rows back, and deletes those of a visitor erased while files are fetched', async () => {
    const sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 100 });
    closers.push(() => sim.close());
    stubFunctionEnv(sim.url, { MAX_ATTEMPTS: '3', TIME_ZONE: 'UTC', ATTACHMENTS: 'on', ATTACHMENT_HOSTS: '127.0.0.1' });
    aws.reset({ login: sim.login, pat: sim.pat });
    let erased = false;
    const needs = await night(async (body) => {
      const task = JSON.parse(body) as { kind: string; files?: Array<{ chatId: string }> };
      if (task.kind !== 'files' || erased) return;
      // A visitor erased after the day settled, before its files task runs.
      const chat = DAYS.flatMap((day) => sim.chats(day)).find((c) => c.id === task.files![0]!.chatId)!;
      await eraseVisitor(String(chat['visitor_id']));
      erased = true;
    });
    expect(erased).toBe(true);
    const under = (action: string, prefix: string) =>
      needs.worker.filter((n) => n.action === action && n.resource.startsWith(`${BUCKET_ARN}/${prefix}`));
    expect(under('s3:PutObject', 'files/').length).toBeGreaterThan(0);
    expect(under('s3:DeleteObject', 'chat-files/').length).toBeGreaterThan(0);
    expect(under('s3:GetObject', 'files/')).toEqual([]);
    // The erasure record and salt the test wrote mid-night went through the same S3 mock: not the worker's.
    const workerNeeds = needs.worker.filter(
      (n) => !(n.action === 's3:PutObject' && n.resource.startsWith(`${BUCKET_ARN}/manifests/erasures/`)),
    );
    // Nothing denied, and every attachment grant used (this night has no drift: the run-record grants
    // the other tests check go unused here).
    const policy = s3Statements('v2', 'worker', true);
    const denied = workerNeeds.filter((need) => !policy.some((statement) => allows(statement, need)));
    expect(denied.map((need) => `${need.action} for ${need.request}`)).toEqual([]);
    expect(unusedGrants(policy, workerNeeds).filter((grant) => /files\//.test(grant))).toEqual([]);
  });
});
