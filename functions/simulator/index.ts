/** Bundled LiveChat REST API v2 simulator (GET /chats) for tests, demos and benchmarks. */

export {
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_SLOW_MS,
  type DriftRule,
  FaultEngine,
  type FaultKind,
  type FaultOptions,
  type ScriptedFault,
} from './faults.ts';
export {
  DEFAULT_API_KEY,
  DEFAULT_LOGIN,
  PAGE_SIZE,
  type RunningSimulator,
  type SimulatorOptions,
  type SimulatorStats,
  startSimulator,
} from './livechat-simulator.ts';
export { mulberry32, rngFor } from './prng.ts';
export { type ChatFilters, ChatStore, type DriftPosition } from './store.ts';
export {
  AGENTS,
  addDays,
  type Chat,
  type ChatMessage,
  chatCountForDay,
  compareNewestFirst,
  DEFAULT_CHATS_PER_DAY,
  dayOfTs,
  dayStartTs,
  daysBetween,
  formatLiveChatDate,
  GOALS,
  GROUPS,
  generateDay,
  isValidDay,
  type Person,
  SUPERVISORS,
} from './synthetic-chats.ts';
