import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pruneCommand } from '#cli/prune-command.ts';
import { capture } from './cli-runner.ts';

/** A folder lake of one-byte files, each written `age` days before `now` (its modification time). */
export async function lakeWithAges(files: Record<string, number>, now: Date): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lake-'));
  for (const [key, age] of Object.entries(files)) {
    const path = join(dir, key);
    const time = new Date(now.getTime() - age * 86_400_000);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'x');
    await utimes(path, time, time);
  }
  return dir;
}

/** `npm run prune` in process, at `now` (the clock when unset): its exit code and output. */
export async function runPrune(args: string[], now?: Date) {
  const stdout = capture();
  const stderr = capture();
  const code = await pruneCommand(args, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    ...(now ? { now: () => now } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
