import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DoctorCommandIo, doctorCommand } from '#cli/doctor-command.ts';
import { capture } from '#test/support/cli-runner.ts';

/** The doctor's "now": yesterday is 2026-11-19 in UTC, the simulators hold 2026-11-01..19. */
export const NOW = new Date('2026-11-20T09:00:00Z');
export const DATA = { from: '2026-11-01', to: '2026-11-19' } as const;

/** `npm run doctor` in process with test-speed backoff. */
export async function runDoctorCli(
  args: string[],
  env: Record<string, string | undefined>,
  io: Partial<Pick<DoctorCommandIo, 'now'>> = {},
) {
  const stdout = capture();
  const stderr = capture();
  const code = await doctorCommand(args, {
    env,
    stdout: stdout.stream,
    stderr: stderr.stream,
    tuning: { baseRetryDelayMs: 5, maxRetryDelayMs: 50, timeoutMs: 2_000 },
    now: () => NOW,
    ...io,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text(), lines: checklist(stdout.text()) };
}

/** The checklist as `{check: status}`, and each check's whole line. */
export function checklist(stdout: string) {
  const status: Record<string, string> = {};
  const line: Record<string, string> = {};
  for (const text of stdout.split('\n')) {
    const match = /^(ok|warning|failed)\s+(\S+)\s/.exec(text);
    if (match) {
      status[match[2]!] = match[1]!;
      line[match[2]!] = text;
    }
  }
  return { status, line };
}

/** Every file under `dir` with its content: a lake's state, to compare before and after. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return Object.fromEntries(
    await Promise.all(files.map(async (file) => [file.slice(dir.length), (await readFile(file)).toString('base64')])),
  );
}
