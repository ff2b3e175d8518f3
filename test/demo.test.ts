import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoCommand } from '#cli/demo-command.ts';
import { capture } from './support/cli-runner.ts';

describe('npm run demo', () => {
  // The demo's days are Europe/Warsaw days; the week before 2026-03-31 holds the day DST starts.
  it.each(['2026-11-25', '2027-02-28', '2026-03-31'])(
    'archives the week before %s through faults and drift and reports a complete lake',
    async (today) => {
      const stdout = capture();
      const stderr = capture();
      const lakeDir = join(await mkdtemp(join(tmpdir(), 'demo-')), 'lake');
      const code = await demoCommand({ lakeDir, stdout: stdout.stream, stderr: stderr.stream, today });
      expect(stdout.text()).toMatch(
        /completeness \(lake vs simulator\): \d+ chats expected, missing 0, duplicates 0, misplaced 0 \(days in Europe\/Warsaw\)/,
      );
      expect(stdout.text()).toMatch(/Chats per day[\s\S]*Chats per agent[\s\S]*Rating share[\s\S]*Missed-chat share/);
      // Attachments: every reference has its row, every file served whole is stored byte for byte.
      const files =
        /attachments: (\d+) referenced, (\d+) stored byte-identical \(sha256, \d+ bytes\), (\d+) not stored .*missing 0, corrupt 0/.exec(
          stdout.text(),
        );
      expect(files).not.toBeNull();
      expect(Number(files![2])).toBeGreaterThan(0);
      expect(Number(files![1])).toBe(Number(files![2]) + Number(files![3]));
      expect(stdout.text()).toContain('\nAttachments per day\n');
      expect(stdout.text()).toMatch(/ {2}files \d+ \(\d+ stored, /);
      expect(stderr.text()).toMatch(/drift on \d{4}-\d{2}-\d{2} \(attempt 1\)/);
      const report = join(dirname(lakeDir), 'report', 'report.html');
      expect(stdout.text()).toContain(`HTML report (open it in a browser): ${report}\n`);
      expect(existsSync(report)).toBe(true);
      expect(code).toBe(0);
    },
    60_000,
  );
});
