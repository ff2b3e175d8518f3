import { type ChildProcess, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { type ArchiveCommandIo, archiveCommand } from '#cli/archive-command.ts';

/** A writable stream that keeps what is written to it. */
export function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

/** `npm run archive` in process with test-speed backoff; returns the exit code and the output. */
export async function runArchiveCli(
  args: string[],
  env: Record<string, string | undefined>,
  io: Partial<Pick<ArchiveCommandIo, 'v36Overrides' | 'signal'>> = {},
) {
  const stdout = capture();
  const stderr = capture();
  const code = await archiveCommand(args, {
    env,
    stdout: stdout.stream,
    stderr: stderr.stream,
    clientOverrides: { baseRetryDelayMs: 5, maxRetryDelayMs: 200, timeoutMs: 1_000 },
    redeliveryDelayMs: 10,
    fileFetcherOverrides: { baseRetryDelayMs: 5, timeoutMs: 2_000 },
    ...io,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A CLI (`bin/<command>.ts`) in a child process, to be killed: its exit code once closed, and its output so far. */
export function spawnCli(
  bin: string,
  args: readonly string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], {
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, done, output: () => output };
}
