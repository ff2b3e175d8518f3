import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { lambdaAwsMocks } from '#test/support/lambda-aws-mocks.ts';
import { bundleHandler, importBundledHandler } from '#test/support/lambda-bundle.ts';
import { captureJsonLogs, lambdaContext, sqsEvent, stubFunctionEnv } from '#test/support/lambda-fixtures.ts';

/**
 * The worker as Lambda runs it: bundled and minified with the construct's own options, then
 * imported and made to fail a record. The `errorClass` of its log line must be the class name the
 * runbook names, not what the minifier renamed it to.
 */
const root = new URL('../..', import.meta.url).pathname;
type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const aws = lambdaAwsMocks();
let sim: RunningSimulator;
let outDir: string;

async function bundledWorker(): Promise<Handler> {
  const text = await bundleHandler('functions/handlers/worker.ts');
  return importBundledHandler<Handler>(text, outDir, 'worker.mjs');
}

/** The worker's `task failed` log line (Powertools writes JSON lines to stdout/stderr). */
async function failedTaskLine(handler: Handler): Promise<Record<string, unknown>> {
  const body = JSON.stringify({
    v: 1,
    kind: 'page',
    runId: 'run-1',
    day: '2026-06-10',
    attempt: 1,
    filters: {},
    page: 2,
    pages: 3,
    total: 60,
  });
  // Every record of the batch failed: Powertools fails the whole invocation, as on Lambda.
  const { lines, text } = await captureJsonLogs(() =>
    expect(handler(sqsEvent([body]), lambdaContext())).rejects.toThrow(/All records failed processing/),
  );
  const failed = lines.find((line) => line.message === 'task failed');
  expect(failed, text).toBeDefined();
  return failed!;
}

beforeAll(async () => {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  outDir = mkdtempSync(join(root, '.tmp/bundled-worker-'));
  sim = await startSimulator({ from: '2026-06-08', to: '2026-06-10', chatsPerDay: 60 });
  stubFunctionEnv(sim.url, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
  // A PAT LiveChat does not accept: every request answers 401.
  aws.reset({ login: sim.login, pat: 'revoked-pat' });
});

afterAll(async () => {
  await sim.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe('the bundled, minified worker', () => {
  it('logs the real error class of a failed record (LivechatAuthError for rejected credentials)', async () => {
    // The minifier renames classes (LAMBDA_BUNDLING.keepNames is off): the error names itself.
    const line = await failedTaskLine(await bundledWorker());
    expect(line).toMatchObject({ level: 'ERROR', taskKind: 'page', errorClass: 'LivechatAuthError' });
    expect(String(line.error)).toMatch(/^LiveChat authentication failed \(401\)/);
    expect(JSON.stringify(line)).not.toContain('revoked-pat');
  }, 60_000);
});
