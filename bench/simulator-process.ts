/**
 * The LiveChat simulator in its own process, so that its CPU and memory stay out of
 * the archiver's figures. Options come as one JSON argument; once listening it prints
 * one JSON line on stdout ({ url, login, apiKey, chats, startMs }) and runs until its
 * stdin closes (the parent ended it or died) or it gets SIGTERM/SIGINT.
 *
 *   tsx bench/simulator-process.ts '{"from":"2024-03-01","to":"2024-03-16","chatsPerDay":625,"latencyMs":50}'
 */
import { startSimulator } from '#simulator/index.ts';

export interface SimulatorProcessOptions {
  from: string;
  to: string;
  /** Exact number of chats on every day. */
  chatsPerDay: number;
  latencyMs?: number;
  seed?: number;
}

export interface SimulatorProcessReady {
  url: string;
  login: string;
  apiKey: string;
  /** Chats generated (all days). */
  chats: number;
  /** Time to generate the data and start listening. */
  startMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as SimulatorProcessOptions;
const started = performance.now();
const exact = options.chatsPerDay;
const simulator = await startSimulator({
  from: options.from,
  to: options.to,
  chatsPerDay: () => exact,
  latencyMs: options.latencyMs ?? 0,
  seed: options.seed ?? 42,
  today: options.to,
});
const days = (Date.parse(`${options.to}T00:00:00Z`) - Date.parse(`${options.from}T00:00:00Z`)) / 86_400_000 + 1;
const ready: SimulatorProcessReady = {
  url: simulator.url,
  login: simulator.login,
  apiKey: simulator.apiKey,
  chats: days * exact,
  startMs: performance.now() - started,
};
process.stdout.write(`${JSON.stringify(ready)}\n`);

let closing = false;
const shutdown = async (): Promise<void> => {
  if (closing) return;
  closing = true;
  await simulator.close();
  process.exit(0);
};
process.stdin.on('end', () => void shutdown());
process.stdin.on('close', () => void shutdown());
process.stdin.resume();
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
