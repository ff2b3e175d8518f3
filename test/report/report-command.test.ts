import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportCommand } from '#cli/report-command.ts';
import { writeFixtureLake, writeRawPage } from '#test/lake/fixtures/chat-lake.ts';
import { capture } from '#test/support/cli-runner.ts';

async function runReport(args: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await reportCommand(args, { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const tempDir = (prefix: string) => mkdtemp(join(tmpdir(), prefix));

/** One `error:` line (plus the usage line for argument problems), never a stack trace. */
function expectOneErrorLine(stderr: string, message: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(lines.length).toBeLessThanOrEqual(2);
}

describe('npm run report', () => {
  it('writes DIR/report.html and prints its path', async () => {
    const lake = await tempDir('report-cli-');
    await writeFixtureLake(lake);
    const out = join(lake, '..', `${lake.split('/').at(-1)}-report`);
    const result = await runReport(['--lake', lake, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^report: \S+\/report\.html \(7 chats, 2024-02-29 to 2024-03-02, \d+ KB\)\n$/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('data-report-state="loading"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!vega\.github\.io\/schema|www\.w3\.org)/);
  });

  it.each([
    ['a folder that does not exist', (root: string) => join(root, 'missing'), /lake folder .* does not exist/],
    [
      'a file',
      (root: string) => {
        writeFileSync(join(root, 'file.txt'), 'x');
        return join(root, 'file.txt');
      },
      /is a file, not a lake folder/,
    ],
    [
      'a folder that is not a lake',
      (root: string) => {
        mkdirSync(join(root, 'photos'));
        writeFileSync(join(root, 'photos', 'a.jpg'), 'x');
        return join(root, 'photos');
      },
      /is not a lake: it has neither chats\/ nor manifests\//,
    ],
  ])('refuses %s with one line and exit 2, writing nothing', async (_name, make, message) => {
    const root = await tempDir('report-bad-');
    const out = join(root, 'out');
    const result = await runReport(['--lake', make(root), '--out', out]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result.stderr, message);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [['--from', '2024-02-30'], /--from must be a date as YYYY-MM-DD, got "2024-02-30"/],
    [['--from', '2024-03-02', '--to', '2024-03-01'], /--from 2024-03-02 is after --to 2024-03-01/],
    [['--days', '3'], /Unknown option '--days'/],
    [['--last', '14d'], /--last must be one of 7d, 30d, quarter, got "14d"/],
    [['--last', '7d', '--from', '2024-03-01'], /give either --last or --from\/--to, not both/],
  ])('refuses bad arguments %j with one line and exit 2', async (args, message) => {
    const lake = await tempDir('report-args-');
    await writeFixtureLake(lake);
    const result = await runReport(['--lake', lake, '--out', join(lake, 'out'), ...args]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result.stderr, message);
    expect(result.stderr).toContain('usage: npm run report --');
  });

  it('writes an empty-state page for an empty lake, saying so in one line', async () => {
    const lake = await tempDir('report-empty-');
    mkdirSync(join(lake, 'chats'));
    const out = join(lake, 'out');
    const result = await runReport(['--lake', lake, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^note: .* holds no chat, run manifest or day plan for \(none\) to \(none\); the report says so\n$/,
    );
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('data-report-state="empty"');
    expect(html).toContain('No data in this range');
    expect(html).not.toContain('vega.View'); // no runtime needed for an empty page
  });

  it('writes an empty-state page for a range with no data', async () => {
    const lake = await tempDir('report-range-');
    await writeFixtureLake(lake);
    const out = join(lake, 'out');
    const result = await runReport(['--lake', lake, '--out', out, '--from', '2020-01-01', '--to', '2020-01-31']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/no chat, run manifest or day plan for 2020-01-01 to 2020-01-31/);
    expect(result.stdout).toMatch(/\(0 chats, 2020-01-01 to 2020-01-31/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('data-report-state="empty"');
  });

  it('fails with one line and exit 1 when a chat file is corrupt', async () => {
    const lake = await tempDir('report-corrupt-');
    await writeFixtureLake(lake);
    writeFileSync(join(lake, 'chats', 'dt=2024-03-01', 'page-00009.json.gz'), 'not gzip at all');
    writeRawPage(lake, '2024-03-02', 9, ['{"id": "X", "_run_id": "r", "_archived_at": "t", "_page": 1'] as string[]);
    const result = await runReport(['--lake', lake, '--out', join(lake, 'out')]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result.stderr, /error: /);
  });
});
