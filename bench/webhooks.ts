/**
 * `npm run bench:webhooks [-- --rate 100 --seconds 60 --duplicates 0.1 --latency-ms 50]`
 *
 * Issue 29's webhook bench: `npm run webhooks` (a child process, as shipped) against the v3.6
 * simulator (a child process; every response, get_chat included, delayed by --latency-ms), fed
 * --rate chat_deactivated deliveries a second for --seconds, a share of them duplicates of earlier
 * ones (as LiveChat's retries). Reports the receiver's answer times, the delay from a delivery to its
 * thread's row in the lake (the `thread …: dt=` line), and checks that every delivered thread is in
 * the lake once in both tables. Writes its section of bench/RESULTS.md between the webhooks markers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';
import { createArchivesClient } from '#sources/v36/list-archives-client.ts';
import { BENCH_DIR, PROJECT_ROOT } from './support/processes.ts';
import { loadAverage } from './support/report.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '60' },
    duplicates: { type: 'string', default: '0.1' },
    'latency-ms': { type: 'string', default: '50' },
  },
  strict: true,
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const duplicateShare = Number(values.duplicates);
const latencyMs = Number(values['latency-ms']);
const SECRET = 'bench-webhook-secret';
const log = (line: string) => process.stderr.write(`${line}\n`);

function npm(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('npm', ['run', '--silent', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
}

async function firstMatch(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const match = pattern.exec(line);
    if (match) return match;
  }
  throw new Error(`no line matching ${pattern}`);
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const total = rate * seconds;
const distinct = Math.ceil(total * (1 - duplicateShare));
const days = Math.ceil(distinct / 900);
const from = '2026-03-01';
const to = new Date(Date.parse(`${from}T00:00:00Z`) + (days - 1) * 86_400_000).toISOString().slice(0, 10);
log(`simulator: ${days} day(s) of about 1000 chats, ${latencyMs} ms latency`);
const simulator = npm([
  'simulator',
  '--',
  '--source',
  'v3.6',
  '--port',
  '0',
  '--from',
  from,
  '--to',
  to,
  '--chats-per-day',
  '1000',
  '--latency-ms',
  String(latencyMs),
]);
const apiUrl = (await firstMatch(simulator, /listening on (http:\/\/\S+)/))[1]!;
const accountId = 'c0ffee00-1234-4abc-9def-000000000001';
const token = 'dal:demo-personal-access-token';

// The threads to deliver, read from the simulator as any client would.
const client = createArchivesClient({ apiUrl, credentials: { kind: 'pat', accountId, token } });
const threads: Array<{ chatId: string; threadId: string }> = [];
let page = await client.listArchives({
  filters: { from: `${from}T00:00:00.000000Z`, to: `${to}T23:59:59.999999Z` },
  limit: 100,
  sortOrder: 'asc',
});
for (;;) {
  threads.push(...page.chats.map((chat) => ({ chatId: chat.id, threadId: chat.thread.id })));
  if (!page.next_page_id || threads.length >= distinct) break;
  page = await client.listArchives({ pageId: page.next_page_id });
}
if (threads.length < distinct) throw new Error(`the simulator has ${threads.length} threads, ${distinct} needed`);

const out = await mkdtemp(join(tmpdir(), 'bench-webhooks-'));
const receiver = npm(['webhooks', '--', '--out', out, '--api-url', apiUrl, '--port', '0'], {
  LIVECHAT_ACCOUNT_ID: accountId,
  LIVECHAT_PAT: token,
  LIVECHAT_WEBHOOK_SECRET: SECRET,
});
const url = (await firstMatch(receiver, /listening on (http:\/\/\S+)/))[1]!;
const sentAt = new Map<string, number>();
const lakeDelays: number[] = [];
createInterface({ input: receiver.stdout! }).on('line', (line) => {
  const match = /^thread (\S+): dt=/.exec(line);
  const sent = match ? sentAt.get(match[1]!) : undefined;
  if (sent !== undefined) {
    lakeDelays.push(performance.now() - sent);
    sentAt.delete(match![1]!);
  }
});

log(
  `delivering ${total} chat_deactivated at ${rate}/s for ${seconds} s (${Math.round(duplicateShare * 100)} % duplicates) to ${url}`,
);
const answers: number[] = [];
const statuses = new Map<number, number>();
let next = 0;
const delivered: string[] = [];
const load = loadAverage();
const startedAt = performance.now();
const sends: Promise<void>[] = [];
for (let index = 0; index < total; index += 1) {
  const due = startedAt + (index * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const duplicate = delivered.length > 0 && (index % Math.round(1 / duplicateShare) === 0 || next >= distinct);
  const thread = duplicate ? threads[Math.floor((index * 7919) % delivered.length)]! : threads[next++]!;
  if (!duplicate) {
    delivered.push(thread.threadId);
    sentAt.set(thread.threadId, performance.now());
  }
  const body = JSON.stringify({
    webhook_id: 'bench',
    secret_key: SECRET,
    action: 'chat_deactivated',
    organization_id: '390e44e6-f1e6-0368c-z6ddb-74g14508c2ex',
    payload: { chat_id: thread.chatId, thread_id: thread.threadId },
    additional_data: {},
  });
  const sent = performance.now();
  sends.push(
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).then(async (response) => {
      await response.arrayBuffer();
      answers.push(performance.now() - sent);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }),
  );
}
await Promise.all(sends);
const sendSeconds = (performance.now() - startedAt) / 1000;
const deadline = performance.now() + 120_000;
while (sentAt.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
receiver.kill('SIGTERM');
const code = await new Promise((resolve) => receiver.once('close', resolve));
simulator.kill('SIGTERM');
const loadAfter = loadAverage();

async function idsOf(table: 'chats' | 'archives'): Promise<string[]> {
  const ids: string[] = [];
  for (const partition of await readdir(join(out, table))) {
    for (const file of await readdir(join(out, table, partition))) {
      if (!file.endsWith('.json.gz')) continue;
      const rows = await decodeNdjsonGzip<Record<string, unknown>>(await readFile(join(out, table, partition, file)));
      ids.push(...rows.map((row) => String(table === 'chats' ? row['id'] : (row['thread'] as { id: string }).id)));
    }
  }
  return ids;
}
const lakeChecks = await Promise.all(
  (['chats', 'archives'] as const).map(async (table) => {
    const ids = await idsOf(table);
    const once =
      ids.length === new Set(ids).size && ids.length === delivered.length && delivered.every((id) => ids.includes(id));
    return `${table}: ${ids.length} rows, ${new Set(ids).size} distinct, ${once ? 'every delivered thread once' : 'NOT every thread once'}`;
  }),
);
await rm(out, { recursive: true, force: true });

const sortedAnswers = [...answers].sort((a, b) => a - b);
const sortedDelays = [...lakeDelays].sort((a, b) => a - b);
const ms = (value: number) => `${value.toFixed(1)} ms`;
const section = [
  '<!-- webhooks-bench:start -->',
  '## Webhooks (issue 29)',
  '',
  `Produced by \`npm run bench:webhooks\` on ${new Date().toISOString()} (load average ${load} at the start, ${loadAfter} at the end; 2 shared cores; simulator and receiver in child processes on the same cores).`,
  `\`npm run webhooks\` against the v3.6 simulator with ${latencyMs} ms latency on every response (get_chat included): ${total} deliveries at ${rate}/s for ${seconds} s (sent in ${sendSeconds.toFixed(1)} s), ${total - delivered.length} of them duplicates of earlier deliveries.`,
  '',
  '| Metric | Measured | Target | Met |',
  '|---|---|---|---|',
  `| W.1 | Receiver answer time p50 / p99 / max | ${ms(percentile(sortedAnswers, 50))} / ${ms(percentile(sortedAnswers, 99))} / ${ms(sortedAnswers.at(-1)!)} | p99 ≤ 1000 ms | ${percentile(sortedAnswers, 99) <= 1000 ? 'yes' : '**no**'} |`,
  `| W.2 | Delivery → row in the lake p50 / p95 / max (${lakeDelays.length} threads) | ${ms(percentile(sortedDelays, 50))} / ${ms(percentile(sortedDelays, 95))} / ${ms(sortedDelays.at(-1)!)} | p95 ≤ 60 s | ${percentile(sortedDelays, 95) <= 60_000 ? 'yes' : '**no**'} |`,
  `| W.3 | Lake after the run (${delivered.length} distinct threads delivered) | ${lakeChecks.join('; ')} | each once | ${lakeChecks.every((line) => line.endsWith('every delivered thread once')) ? 'yes' : '**no**'} |`,
  `| W.4 | Answers by status; receiver exit code after SIGTERM | ${[...statuses].map(([status, count]) => `${status}: ${count}`).join(', ')}; exit ${String(code)} | all 200, exit 0 | ${statuses.size === 1 && statuses.has(200) && code === 0 ? 'yes' : '**no**'} |`,
  '',
  "The delay is measured from the delivery (the simulator's chats ended long ago); on LiveChat it adds the time LiveChat takes to send the webhook after the thread closes.",
  '<!-- webhooks-bench:end -->',
].join('\n');
const resultsPath = join(BENCH_DIR, 'RESULTS.md');
const results = await readFile(resultsPath, 'utf8');
const marked = /<!-- webhooks-bench:start -->[\s\S]*<!-- webhooks-bench:end -->/;
await writeFile(
  resultsPath,
  marked.test(results) ? results.replace(marked, section) : `${results.trimEnd()}\n\n${section}\n`,
);
process.stdout.write(`${section}\n`);
