import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRUNE_EXIT } from '#cli/prune-command.ts';
import { lakeWithAges, runPrune } from '#test/support/aged-lake.ts';
import { listFiles } from '#test/support/lake-reader.ts';

const NOW = new Date('2026-11-30T12:00:00Z');

const lakeWith = (files: Record<string, number>) => lakeWithAges(files, NOW);
const prune = (args: string[]) => runPrune(args, NOW);

describe('npm run prune', () => {
  const files = {
    'chats/dt=2025-01-01/page-00001.json.gz': 400,
    'chats/dt=2025-01-01/page-00002.json.gz': 400,
    'chats/dt=2025-06-01/page-00001.json.gz': 200, // a day re-archived later is newer
    'chats/dt=2026-11-20/page-00001.json.gz': 10,
    'manifests/runs/local-1.json': 400,
    'manifests/erasures/salt.json': 400,
  };

  it('deletes chat files written more than N days ago and their empty partitions; manifests stay', async () => {
    const dir = await lakeWith(files);
    const result = await prune(['--out', dir, '--older-than-days', '365']);
    expect(result.code).toBe(PRUNE_EXIT.ok);
    expect(result.stdout).toBe('deleted 2 chat files (2 bytes) written more than 365 days ago\n');
    expect(await listFiles(dir)).toEqual([
      'chats/dt=2025-06-01/page-00001.json.gz',
      'chats/dt=2026-11-20/page-00001.json.gz',
      'manifests/erasures/salt.json',
      'manifests/expired-days/dt=2025-01-01/prune-20261130T120000000Z.json',
      'manifests/runs/local-1.json',
    ]);
    expect(await listFiles(join(dir, 'chats'))).not.toContain('dt=2025-01-01');
    // The record day_completeness reads the day as expired (not missing) by.
    const record = await readFile(
      join(dir, 'manifests/expired-days/dt=2025-01-01/prune-20261130T120000000Z.json'),
      'utf8',
    );
    expect(JSON.parse(record)).toEqual({
      day: '2025-01-01',
      expiredAt: '2026-11-30T12:00:00.000Z',
      files: 2,
      olderThanDays: 365,
    });
  });

  it('a dry run counts and deletes nothing', async () => {
    const dir = await lakeWith(files);
    const result = await prune(['--out', dir, '--older-than-days', '100', '--dry-run']);
    expect(result.stdout).toBe('dry run: 3 chat files would be deleted (3 bytes) written more than 100 days ago\n');
    expect(await listFiles(dir)).toHaveLength(Object.keys(files).length);
  });

  it.each([
    [['--older-than-days', '30'], 'error: give the lake folder: --out DIR'],
    [['--out', 'lake'], 'error: give --older-than-days N'],
    [
      ['--out', 'lake', '--older-than-days', '0'],
      'error: --older-than-days must be a whole number from 1 to 36500, got "0"',
    ],
    [['--out', 'lake', '--older-than-days', '30', '--bucket', 'b'], "error: Unknown option '--bucket'"],
  ])('%j is one clear error (exit 2)', async (args, message) => {
    const result = await prune(args);
    expect(result.code).toBe(PRUNE_EXIT.usage);
    expect(result.stderr.split('\n')[0]).toContain(message);
  });
});
