/**
 * The LiveChat simulator in its own process, so that its CPU and memory stay out of
 * the archiver's figures. Options come as one JSON argument; once listening it prints
 * one JSON line on stdout ({ url, login, apiKey, chats, startMs }) and runs until its
 * stdin closes (the parent ended it or died) or it gets SIGTERM/SIGINT.
 *
 *   tsx bench/simulator-process.ts '{"from":"2024-03-01","to":"2024-03-16","chatsPerDay":625,"latencyMs":50}'
 */
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';

export interface SimulatorProcessOptions {
  from: string;
  to: string;
  /** Exact number of chats on every day. */
  chatsPerDay: number;
  latencyMs?: number;
  seed?: number;
  /** Which API to serve: REST API v2 (default) or v3.6 list_archives. */
  source?: 'v2' | 'v3.6';
  /** Messages of a chat that was not missed (default 2..5); longer conversations make bigger pages. */
  messagesPerChat?: { min: number; max: number };
  /** v2 only: answers serialized once and served from memory (the simulator's `cachePages`). */
  cachePages?: boolean;
}

export interface SimulatorProcessReady {
  url: string;
  login: string;
  apiKey: string;
  /** v3.6: the Personal Access Token's account id and token. */
  accountId?: string;
  token?: string;
  /** Chats generated (all days). */
  chats: number;
  /** Time to generate the data and start listening. */
  startMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as SimulatorProcessOptions;
const started = performance.now();
const exact = options.chatsPerDay;
const shared = {
  from: options.from,
  to: options.to,
  chatsPerDay: () => exact,
  latencyMs: options.latencyMs ?? 0,
  seed: options.seed ?? 42,
  ...(options.messagesPerChat ? { messagesPerChat: options.messagesPerChat } : {}),
};
const simulator =
  options.source === 'v3.6'
    ? await startV36Simulator(shared)
    : await startSimulator({ ...shared, today: options.to, cachePages: options.cachePages ?? false });
const days = (Date.parse(`${options.to}T00:00:00Z`) - Date.parse(`${options.from}T00:00:00Z`)) / 86_400_000 + 1;
const ready: SimulatorProcessReady = {
  url: simulator.url,
  login: 'login' in simulator ? simulator.login : '',
  apiKey: 'apiKey' in simulator ? simulator.apiKey : '',
  ...('token' in simulator ? { accountId: simulator.accountId, token: simulator.token } : {}),
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
