/** Bundled LiveChat REST API v2 simulator (GET /chats) for tests, demos and benchmarks. */
export {
  startSimulator,
  PAGE_SIZE,
  DEFAULT_LOGIN,
  DEFAULT_API_KEY,
  type SimulatorOptions,
  type RunningSimulator,
  type SimulatorStats,
} from './livechat-simulator.ts';
export {
  FaultEngine,
  DEFAULT_SLOW_MS,
  DEFAULT_RETRY_AFTER_SECONDS,
  type FaultOptions,
  type FaultKind,
  type ScriptedFault,
  type DriftRule,
} from './faults.ts';
export { ChatStore, type ChatFilters, type DriftPosition } from './store.ts';
export {
  type Chat,
  type ChatMessage,
  type Person,
  AGENTS,
  SUPERVISORS,
  GROUPS,
  GOALS,
  DEFAULT_CHATS_PER_DAY,
  chatCountForDay,
  compareNewestFirst,
  formatLiveChatDate,
  generateDay,
  isValidDay,
  daysBetween,
  addDays,
  dayOfTs,
  dayStartTs,
  mulberry32,
  rngFor,
} from './synthetic-chats.ts';
