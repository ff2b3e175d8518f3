import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type LocalLake, openLocalLake } from '#lake/duckdb-lake.ts';
import { writeReport } from '#report/build-report.ts';
import { addDays, daysInRange } from '#shared/day-range.ts';
import { localDay } from '#shared/time-zone.ts';
import { simulatedFileBytes, storableFromSimulator } from '#simulator/attachment-files.ts';
import { startSimulator } from '#simulator/index.ts';
import { archiveCommand, EXIT } from './archive-command.ts';
import { formatTable } from './format-table.ts';

const DEMO_MARKER = '.livechat-archiver-demo';
/**
 * The demo cuts days in a zone with DST that is neither UTC nor the simulated account's own, so
 * a wrong cut (a request without `timezone`, a v3.6 slice in UTC, an hour off) shows up as
 * missing or misplaced chats instead of passing unnoticed.
 */
export const DEMO_TIME_ZONE = 'Europe/Warsaw';
export const DEMO_ACCOUNT_TIME_ZONE = 'America/New_York';

/** A clock that runs from noon UTC of `day` (the demo's simulated today). */
function clockAt(day: string): () => Date {
  const offset = Date.parse(`${day}T12:00:00Z`) - Date.now();
  return () => new Date(Date.now() + offset);
}

export interface DemoOptions {
  lakeDir: string;
  /** Where report.html goes; default: a `report` folder beside the lake. */
  reportDir?: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  today?: string;
}

/**
 * The local demo: a LiveChat v2 simulator with faults and drift, a week archived
 * through the real CLI code into a local lake, a text report queried with DuckDB and the
 * HTML report (`npm run report`). Exit code 0 only when the lake holds every chat of the
 * simulator exactly once.
 */
export async function demoCommand(options: DemoOptions): Promise<number> {
  const lakeDir = resolve(options.lakeDir);
  await prepareLakeFolder(lakeDir);
  const lastDay = addDays(options.today ?? localDay(new Date(), DEMO_TIME_ZONE), -1);
  const days = daysInRange(addDays(lastDay, -6), lastDay);
  const driftDay = days[3]!;
  const simulator = await startSimulator({
    // The account's days, a day earlier: a Warsaw day starts on the evening before in New York.
    from: addDays(days[0]!, -1),
    to: lastDay,
    timeZone: DEMO_ACCOUNT_TIME_ZONE,
    faults: {
      rate429: 0.04,
      retryAfterSeconds: 1,
      rate5xx: 0.04,
      rateMalformed: 0.02,
      rateHtml: 0.02,
      drift: [{ day: driftDay, afterRequests: 1, addChats: 4, position: 'random' }], // after page 1, before page 2
    },
  });
  options.stderr.write(
    `LiveChat v2 simulator on ${simulator.url} (account in ${DEMO_ACCOUNT_TIME_ZONE}; 429s, 5xx, broken bodies, and new chats appearing on ${driftDay} mid-run)\n`,
  );
  try {
    const code = await archiveCommand(
      [
        ...['--from', days[0]!, '--to', lastDay, '--time-zone', DEMO_TIME_ZONE],
        ...['--out', lakeDir, '--api-url', simulator.url, '--concurrency', '4'],
        // The simulator serves its attachments itself (some gone, one too large, some on a host outside the list).
        ...['--attachment-hosts', '127.0.0.1', '--max-attachment-mb', '1'],
      ],
      {
        env: { LIVECHAT_LOGIN: simulator.login, LIVECHAT_PAT: simulator.pat },
        stdout: options.stdout,
        stderr: options.stderr,
        // A simulated "today" (tests) is the run's clock too: its days are past days, never in progress.
        ...(options.today ? { now: clockAt(options.today) } : {}),
      },
    );
    if (code !== EXIT.ok) return code;
    const lake = await openLocalLake(lakeDir, { strict: true }); // the demo proves the files match the table
    try {
      await printReport(lake, options.stdout);
      const expected = new Map(days.map((day) => [day, simulator.chats(day, DEMO_TIME_ZONE).map((chat) => chat.id)]));
      const { missing, duplicates, misplaced } = await completeness(lake, expected, DEMO_TIME_ZONE);
      const total = [...expected.values()].reduce((sum, ids) => sum + ids.length, 0);
      const files = await fileCompleteness(lake, lakeDir, [...expected.keys()], (day) =>
        simulator.chats(day, DEMO_TIME_ZONE),
      );
      options.stdout.write(
        `\ncompleteness (lake vs simulator): ${total} chats expected, missing ${missing}, duplicates ${duplicates}, ` +
          `misplaced ${misplaced} (days in ${DEMO_TIME_ZONE}); ` +
          `attachments: ${files.expected} referenced, ${files.stored} stored byte-identical (sha256, ${files.bytes} bytes), ` +
          `${files.notStored} not stored (gone, too large or host not allowed, as served), ` +
          `missing ${files.missing}, corrupt ${files.corrupt}\n`,
      );
      const report = await writeReport({ lakeDir, outDir: options.reportDir ?? join(dirname(lakeDir), 'report') });
      options.stdout.write(`HTML report (open it in a browser): ${report.file}\n`);
      const filesWhole = files.missing === 0 && files.corrupt === 0;
      return missing === 0 && duplicates === 0 && misplaced === 0 && filesWhole ? EXIT.ok : EXIT.incomplete;
    } finally {
      await lake.close();
    }
  } finally {
    await simulator.close();
  }
}

async function printReport(lake: LocalLake, out: NodeJS.WriteStream): Promise<void> {
  const sections: Array<[string, string]> = [
    ['Chats per day', 'chats_per_day'],
    ['Chats per agent (whole week)', ''],
    ['Rating share', 'rating_share'],
    ['Missed-chat share', 'missed_chat_share'],
    ['Attachments per day', 'files_per_day'],
  ];
  for (const [title, name] of sections) {
    const rows = name
      ? await lake.runNamed(name)
      : await lake.query(
          `SELECT a.email AS agent, count(DISTINCT c.id) AS chats
             FROM chats c, UNNEST(c.agents) AS t(a)
            GROUP BY 1 ORDER BY 2 DESC, 1`,
        );
    out.write(`\n${title}\n${formatTable(rows)}\n`);
  }
}

/**
 * Chats of the simulator absent from their partition, chats stored more than once in one, and
 * rows in a partition other than the day their chat started on in `timeZone`.
 */
async function completeness(
  lake: LocalLake,
  expected: Map<string, string[]>,
  timeZone: string,
): Promise<{ missing: number; duplicates: number; misplaced: number }> {
  const rows = await lake.query<{ dt: string; id: string; copies: number; started: number }>(
    'SELECT CAST(dt AS VARCHAR) AS dt, id, count(*) AS copies, min(started_timestamp) AS started FROM chats GROUP BY 1, 2',
  );
  const misplaced = rows.filter((row) => localDay(Number(row.started) * 1000, timeZone) !== row.dt).length;
  const stored = new Map(rows.map((row) => [`${row.dt}/${row.id}`, Number(row.copies)]));
  let missing = 0;
  for (const [day, ids] of expected) for (const id of ids) if (!stored.has(`${day}/${id}`)) missing += 1;
  const duplicates = rows.reduce((sum, row) => sum + Number(row.copies) - 1, 0);
  return { missing, duplicates, misplaced };
}

/**
 * Every file the simulator's chats point to has its chat_files row; a file the simulator serves
 * whole is stored with the same bytes (sha256 of the lake file against the served bytes), and one it
 * does not (gone, above the cap, on a host outside the list) is not.
 */
async function fileCompleteness(
  lake: LocalLake,
  lakeDir: string,
  days: readonly string[],
  chatsOf: (day: string) => ReadonlyArray<Record<string, unknown>>,
): Promise<{ expected: number; stored: number; bytes: number; notStored: number; missing: number; corrupt: number }> {
  const rows = await lake.query<{ chat_id: string; url: string; status: string; lake_key: string | null }>(
    'SELECT chat_id, url, status, lake_key FROM chat_files',
  );
  const byRef = new Map(rows.map((row) => [`${row.chat_id}\n${row.url}`, row]));
  const result = { expected: 0, stored: 0, bytes: 0, notStored: 0, missing: 0, corrupt: 0 };
  for (const day of days) {
    for (const chat of chatsOf(day)) {
      for (const event of (chat['events'] as Array<Record<string, unknown>> | undefined) ?? []) {
        if (event['type'] !== 'attachment') continue;
        for (const url of (event['files'] as string[] | undefined) ?? []) {
          result.expected += 1;
          const row = byRef.get(`${String(chat['id'])}\n${url}`);
          const served = simulatedFileBytes(url);
          if (!row) result.missing += 1;
          else if (row.status !== 'stored' || !storableFromSimulator(url)) {
            if (row.status === 'stored' || storableFromSimulator(url)) result.corrupt += 1;
            else result.notStored += 1;
          } else {
            const stored = await readFile(join(lakeDir, row.lake_key ?? '')).catch(() => undefined);
            const sha = (bytes: Uint8Array | undefined) => bytes && createHash('sha256').update(bytes).digest('hex');
            if (!stored || sha(stored) !== sha(served)) result.corrupt += 1;
            else {
              result.stored += 1;
              result.bytes += stored.length;
            }
          }
        }
      }
    }
  }
  return result;
}

/** The demo starts from an empty lake, but never wipes a folder it did not create. */
async function prepareLakeFolder(lakeDir: string): Promise<void> {
  if (existsSync(lakeDir)) {
    const entries = await readdir(lakeDir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
      throw new Error(`${lakeDir} holds files the demo did not write; choose another folder with --out`);
    }
    await rm(lakeDir, { recursive: true, force: true });
  }
  await mkdir(lakeDir, { recursive: true });
  await writeFile(join(lakeDir, DEMO_MARKER), 'Written by `npm run demo`; the demo may delete this folder.\n');
}
