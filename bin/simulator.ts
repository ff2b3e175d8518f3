/**
 * Run the bundled LiveChat REST API v2 simulator (or, with --source v3.6, the Agent Chat Web
 * API v3.6 list_archives simulator) until Ctrl-C.
 *
 *   npm run simulator -- --port 8080 --from 2024-03-01 --to 2024-03-31 --seed 42 --latency-ms 50 --chats-per-day 60
 *
 * Defaults: the last 7 full UTC days (ending yesterday), seed 42, ≈60 chats a day, OS-chosen port.
 * --time-zone sets the account's zone: the days --from/--to generate, and the v2 cut of a request
 * without a `timezone` parameter. --retention-months N is the license's archives_retention: chats
 * older than N months before today (or --retention-today YYYY-MM-DD) are not served (v2: `total: 0`;
 * v3.6: nothing, as LiveChat documents it), and list_license_properties tells N.
 */
import { parseFlags, stringFlags } from '#cli/parse-flags.ts';
import { isTimeZone } from '#shared/time-zone.ts';
import { addDays, dayOfTs, isValidDay, startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';

const USAGE = `Usage: simulator [--port N] [--host H] [--seed N] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                 [--latency-ms N] [--chats-per-day N] [--login EMAIL] [--pat PAT] [--api-key KEY]
                 [--bearer-token TOKEN] [--region dal|fra] [--deprecation YYYY-MM-DD] [--source v2|v3.6]
                 [--time-zone ZONE] [--retention-months N [--retention-today YYYY-MM-DD]]`;

function fail(msg: string): never {
  console.error(`simulator: ${msg}\n${USAGE}`);
  process.exit(2);
}

function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min)
    fail(`--${name} must be an integer ≥ ${min} (got ${JSON.stringify(value)})`);
  return Number(value);
}

let args;
try {
  args = parseFlags(process.argv.slice(2), {
    ...stringFlags(
      'port',
      'host',
      'seed',
      'from',
      'to',
      'latency-ms',
      'chats-per-day',
      'login',
      'api-key',
      'pat',
      'bearer-token',
      'region',
      'deprecation',
      'source',
      'time-zone',
      'retention-months',
      'retention-today',
    ),
    help: { type: 'boolean', short: 'h' },
  });
} catch (error) {
  // The simulator prints parseArgs' whole message (hints included), not only its first line.
  fail(((error as Error).cause as Error).message);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const yesterday = addDays(dayOfTs(Math.floor(Date.now() / 1000)), -1);
const to = args.to ?? yesterday;
const from = args.from ?? (isValidDay(to) ? addDays(to, -6) : to);
for (const [name, v] of [
  ['from', from],
  ['to', to],
] as const) {
  if (!isValidDay(v)) fail(`--${name} must be a YYYY-MM-DD date (got ${JSON.stringify(v)})`);
}
if (from > to) fail(`--from ${from} is after --to ${to}`);
const retentionToday = args['retention-today'];
if (retentionToday !== undefined && !isValidDay(retentionToday)) {
  fail(`--retention-today must be a YYYY-MM-DD date (got ${JSON.stringify(retentionToday)})`);
}

const seed = intFlag('seed', args.seed);
const port = intFlag('port', args.port);
const latencyMs = intFlag('latency-ms', args['latency-ms']);
const chatsPerDay = intFlag('chats-per-day', args['chats-per-day']);
// The license's archives_retention (months): older chats are not served, list_license_properties tells it.
const retentionMonths = intFlag('retention-months', args['retention-months'], 1);
if (retentionToday !== undefined && retentionMonths === undefined) fail('--retention-today needs --retention-months');

if (args.source !== undefined && args.source !== 'v2' && args.source !== 'v3.6') fail('--source must be v2 or v3.6');
const timeZone = args['time-zone'];
if (timeZone !== undefined && !isTimeZone(timeZone)) fail(`--time-zone must be an IANA time zone (got "${timeZone}")`);

const common = {
  from,
  to,
  ...(seed !== undefined ? { seed } : {}),
  ...(port !== undefined ? { port } : {}),
  ...(latencyMs !== undefined ? { latencyMs } : {}),
  ...(chatsPerDay !== undefined ? { chatsPerDay } : {}),
  ...(args.host !== undefined ? { host: args.host } : {}),
  ...(timeZone !== undefined ? { timeZone } : {}),
  // Retention counts back from today, or from --retention-today (to reproduce a day LiveChat has emptied).
  ...(retentionMonths !== undefined
    ? { retention: { months: retentionMonths, ...(retentionToday !== undefined ? { today: retentionToday } : {}) } }
    : {}),
};

/** Closes the simulator on Ctrl-C or SIGTERM and prints what it served. */
function stopOnSignal(server: {
  close(): Promise<void>;
  stats(): { requests: number; byStatus: Record<string, number> };
}): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.close();
    const { requests, byStatus } = server.stats();
    console.log(`\n${signal}: stopped after ${requests} requests ${JSON.stringify(byStatus)}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (args.source === 'v3.6') {
  const v36 = await startV36Simulator(common);
  console.log(`LiveChat Agent Chat Web API v3.6 simulator listening on ${v36.url}`);
  console.log(
    `  --api-url ${v36.url}   (the base URL; requests go to POST ${v36.url}/v3.6/agent/action/list_archives and get_chat, and the Configuration API's webhook methods)`,
  );
  console.log(`  PAT:      LIVECHAT_ACCOUNT_ID=${v36.accountId} LIVECHAT_PAT=${v36.token}`);
  console.log(`  bearer:   LIVECHAT_BEARER_TOKEN=${v36.bearerToken}`);
  console.log(
    `  archive:  npm run archive -- --source v3.6 --from ${from} --to ${to} --api-url ${v36.url} --attachment-hosts 127.0.0.1 --out simulator-lake`,
  );
  console.log(`  doctor:   npm run doctor -- --source v3.6 --api-url ${v36.url}`);
  console.log(`  webhooks: LIVECHAT_WEBHOOK_SECRET=dev npm run webhooks -- --api-url ${v36.url} --out simulator-lake`);
  console.log(
    `  register: npm run webhooks -- register --url https://<public URL>/webhooks/livechat --owner-client-id <app> --api-url ${v36.url}; then doctor with --webhook-url <that URL> --owner-client-id <app>`,
  );
  console.log('Press Ctrl-C to stop.');
  stopOnSignal(v36);
  await new Promise(() => {});
}

const sim = await startSimulator({
  ...common,
  ...(args.login !== undefined ? { login: args.login } : {}),
  ...(args['api-key'] !== undefined ? { apiKey: args['api-key'] } : {}),
  ...(args.pat !== undefined ? { pat: args.pat } : {}),
  ...(args['bearer-token'] !== undefined ? { bearerToken: args['bearer-token'] } : {}),
  ...(args.region !== undefined ? { region: args.region } : {}),
  ...(args.deprecation !== undefined ? { lifecycle: { header: 'Deprecation', value: args.deprecation } as const } : {}),
});

const total = sim.allChats().length;
console.log(`LiveChat REST API v2 simulator listening on ${sim.url}`);
console.log(`  --api-url ${sim.url}   (the base URL; requests go to GET ${sim.url}/chats)`);
console.log(`  PAT:      LIVECHAT_LOGIN=${sim.login} LIVECHAT_PAT=${sim.pat}`);
console.log(`  bearer:   LIVECHAT_BEARER_TOKEN=${sim.bearerToken}`);
console.log(`  legacy:   LIVECHAT_LOGIN=${sim.login} LIVECHAT_API_KEY=${sim.apiKey}`);
console.log(`  account:  LIVECHAT_ACCOUNT_ID=${sim.accountId} (with the PAT: the license's retention, for doctor)`);
console.log(`  doctor:   npm run doctor -- --api-url ${sim.url}`);
if (args.region !== undefined) console.log(`  region:   ${args.region} (archive with --region ${args.region})`);
console.log(
  `  archive:  npm run archive -- --from ${from} --to ${to} --api-url ${sim.url}${args.region !== undefined ? ` --region ${args.region}` : ''} --attachment-hosts 127.0.0.1 --out simulator-lake`,
);
console.log(`  data:     ${total} chats, ${from} .. ${to} (seed ${seed ?? 42})`);
console.log(
  `  try:      curl -u '${sim.login}:${sim.pat}' -H X-API-Version:2 '${sim.url}/chats?date_from=${to}&date_to=${to}'`,
);
console.log('Press Ctrl-C to stop.');

stopOnSignal(sim);
