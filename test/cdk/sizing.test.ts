import { spawnSync } from 'node:child_process';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { type ArchiverConfigInput, CONTEXT_KEY, ConfigError, parseConfig } from '#infra/config.ts';
import {
  LAKE_BYTES_PER_CHAT,
  MAX_WORKER_MEMORY_MB,
  SETTLE_BYTES_PER_CHAT,
  sizingFor,
  V2_DAY_CAP,
} from '#infra/sizing.ts';

function synthesized(config: ArchiverConfigInput): Template {
  const { app } = createArchiverApp({
    nag: false,
    context: { [CONTEXT_KEY]: { alarmEmail: 'ops@example.com', ...config } },
  });
  return Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
}

describe('expectedChatsPerDay sets the defaults that depend on volume', () => {
  it('sizes a 50 000-chat day: longer, larger workers, 10 cursor pages a task, a scan cutoff of a year', () => {
    const config = parseConfig({ expectedChatsPerDay: 50_000, source: 'v3.6' });
    expect(config).toMatchObject({
      workerTimeoutSeconds: 300,
      workerMemoryMb: 3_200,
      slicePagesPerTask: 10,
      busyDayThreshold: 2_000,
      bytesScannedCutoffBytes: 46_000_000_000,
    });
    // A year of the lake at this volume fits under the cutoff.
    expect(config.bytesScannedCutoffBytes).toBeGreaterThanOrEqual(50_000 * 365 * LAKE_BYTES_PER_CHAT);
  });

  it('keeps the 2 000-chat defaults, and a year of them fits the cutoff (1 GB did not)', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ expectedChatsPerDay: 2_000, workerTimeoutSeconds: 60, workerMemoryMb: 512 });
    expect(config.bytesScannedCutoffBytes).toBeGreaterThanOrEqual(2_000 * 365 * LAKE_BYTES_PER_CHAT);
    expect(2_000 * 365 * LAKE_BYTES_PER_CHAT).toBeGreaterThan(1_000_000_000);
  });

  it('grows every sized default with the volume, never shrinks one', () => {
    const volumes = [100, 2_000, 5_001, 25_000, 25_001, 200_000, 1_000_000];
    const sizes = volumes.map(sizingFor);
    for (let i = 1; i < sizes.length; i++) {
      for (const key of Object.keys(sizes[i]!) as (keyof (typeof sizes)[number])[]) {
        expect(sizes[i]![key], `${key} at ${volumes[i]}`).toBeGreaterThanOrEqual(sizes[i - 1]![key]);
      }
    }
  });

  it("sizes the worker for a day's settling, up to Lambda's largest memory", () => {
    expect(sizingFor(2_000).workerMemoryMb).toBe(512);
    expect(sizingFor(50_000).workerMemoryMb).toBeGreaterThanOrEqual((50_000 * SETTLE_BYTES_PER_CHAT) / 2 ** 20 + 256);
    expect(sizingFor(1_000_000).workerMemoryMb).toBe(MAX_WORKER_MEMORY_MB);
  });

  it('lets a value set in cdk.json or with -c win over the sized default', () => {
    expect(parseConfig({ expectedChatsPerDay: 50_000, source: 'v3.6', workerMemoryMb: 2_048 }).workerMemoryMb).toBe(
      2_048,
    );
  });

  it('puts the sized values into the synthesized worker and workgroup', () => {
    const template = synthesized({ expectedChatsPerDay: 50_000, source: 'v3.6' });
    const worker = Object.values(template.findResources('AWS::Lambda::Function')).find((fn) =>
      String(fn.Properties.Description).startsWith('Archives LiveChat'),
    )!;
    expect(worker.Properties).toMatchObject({ Timeout: 300, MemorySize: 3_200 });
    expect(worker.Properties.Environment.Variables).toMatchObject({ SLICE_PAGES_PER_TASK: '10' });
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 46_000_000_000 },
    });
  });
});

describe('source v2 above its cap', () => {
  it('is refused at synth with one line naming the cap and source v3.6', () => {
    let error: unknown;
    try {
      parseConfig({ expectedChatsPerDay: 50_000 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('livechatArchiver.source: source v2 archives at most 25,000 chats of a day');
    expect(message).toContain('set source to "v3.6"');
    expect(() => parseConfig({ expectedChatsPerDay: V2_DAY_CAP })).not.toThrow();
    expect(() => parseConfig({ expectedChatsPerDay: 50_000, source: 'v3.6' })).not.toThrow();
  });

  it('stops `cdk synth` (bin/app.ts) with that one line on stderr and exit code 1', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: new URL('../..', import.meta.url),
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ [`${CONTEXT_KEY}.expectedChatsPerDay`]: 50_000 }),
        CDK_OUTDIR: '/tmp/cdk-sizing-test-out',
      },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining('source v2 archives at most 25,000 chats')]);
  }, 60_000);
});
