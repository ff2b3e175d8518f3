import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SimulatorProcessOptions, SimulatorProcessReady } from '#bench/simulator-process.ts';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** tsx's loader, for children that run TypeScript. */
const TSX_LOADER = import.meta.resolve('tsx');

export interface SimulatorProcess extends SimulatorProcessReady {
  pid: number;
  close(): Promise<void>;
}

/** Starts bench/simulator-process.ts in a child process and waits for its URL. */
export async function startSimulatorProcess(options: SimulatorProcessOptions): Promise<SimulatorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--max-old-space-size=6144',
      '--import',
      TSX_LOADER,
      fileURLToPath(new URL('../simulator-process.ts', import.meta.url)),
      JSON.stringify(options),
    ],
    { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`simulator process exited early (code ${code})`)));
    child.once('error', reject);
  });
  const ready = JSON.parse(firstLine) as SimulatorProcessReady;
  return {
    ...ready,
    pid: child.pid!,
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => killChild(child), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs `node <args>` to completion, collecting its output. */
export async function runNode(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<NodeRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = options.timeoutMs ? setTimeout(() => killChild(child), options.timeoutMs) : undefined;
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  if (timer) clearTimeout(timer);
  return { code, stdout, stderr, wallMs: performance.now() - started };
}

/** Runs a TypeScript file through tsx in a child process. */
export function runTs(
  file: string,
  args: readonly string[],
  options: Parameters<typeof runNode>[1] = {},
): Promise<NodeRun> {
  return runNode(['--import', TSX_LOADER, file, ...args], options);
}

/** Ends one child we started, by its own handle. */
function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
