import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { BenchConfig } from '#bench/support/config.ts';
import { median, ms, type Section } from '#bench/support/report.ts';
import { compactLake } from '#lake/compaction.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { chatFileRowKey, fileKey, fileRefId } from '#lake/lake-layout.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { addDays, daysInRange } from '#shared/day-range.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';

/**
 * §9's chat_files part (issue 26 point 1): the attachment rows of a lake before and after
 * compaction, on §9's settled lakes with rows added as `npm run demo` has them (45 references for
 * 430 chats: 5 of every 48 chats carry one file; 1 in 8 of them `gone`).
 */
const FILES_PER_48_CHATS = 5;

/** Writes the day's chat_files row objects for the settled chats of `dir` (a copy of §9's settled lake). */
async function addFileRows(dir: string, days: readonly string[]): Promise<number> {
  const sink = new LocalFileSink(dir);
  let rows = 0;
  for (const day of days) {
    const folder = join(dir, 'chats', `dt=${day}`);
    if (!existsSync(folder)) continue;
    for (const name of (await readdir(folder)).filter((f) => f.endsWith('.json.gz')).sort()) {
      const lines = gunzipSync(await readFile(join(folder, name)))
        .toString('utf8')
        .split('\n')
        .filter(Boolean);
      for (const [i, line] of lines.entries()) {
        if ((i % 48) % 10 !== 0 || i % 48 >= FILES_PER_48_CHATS * 10) continue; // 0, 10, 20, 30, 40 of each 48
        const chat = String((JSON.parse(line) as { id: string }).id);
        const url = `https://cdn.livechat-files.com/api/file/lc/att/1/${fileRefId(chat, day)}/screenshot-${i}.png`;
        const ref = fileRefId(chat, url);
        const gone = rows % 8 === 7;
        const row = {
          chat_id: chat,
          thread_id: null,
          event_id: null,
          name: `screenshot-${i}.png`,
          content_type: 'image/png',
          size: 20_000 + i,
          sha256: gone ? null : ref.padEnd(64, '0'),
          status: gone ? 'gone' : 'stored',
          detail: gone ? 'HTTP 404' : null,
          lake_key: gone ? null : fileKey(day, chat, ref, `screenshot-${i}.png`),
          url,
          fetched_at: `${day}T03:00:00.000Z`,
          run_id: 'bench-files',
        };
        await sink.put(chatFileRowKey(day, chat, ref), Buffer.from(`${JSON.stringify(row)}\n`), 'json');
        rows += 1;
      }
    }
  }
  return rows;
}

async function filesUnder(dir: string, prefix: string, ext: string): Promise<{ day: string; bytes: number }[]> {
  const root = join(dir, prefix);
  if (!existsSync(root)) return [];
  const out: { day: string; bytes: number }[] = [];
  for (const part of await readdir(root)) {
    for (const name of (await readdir(join(root, part))).filter((f) => f.endsWith(ext))) {
      out.push({ day: part.slice(part.indexOf('=') + 1), bytes: (await stat(join(root, part, name))).size });
    }
  }
  return out;
}

/**
 * Objects a scan of chat_files filtered on `dt` and `month` (as the named queries filter it) opens
 * over [from, to]: the row objects and compacted day files of those days (pruned by `dt`), and the
 * compacted month files of those months (pruned by `month`, their partition).
 */
async function objectsOpened(dir: string, from: string, to: string): Promise<number> {
  const json = (await filesUnder(dir, 'chat-files/', '.json')).filter((f) => f.day >= from && f.day <= to);
  const compacted = await filesUnder(dir, 'compacted/chat-files/', '.parquet');
  const days = compacted.filter((f) => f.day.length === 10 && f.day >= from && f.day <= to);
  const months = compacted.filter((f) => f.day.length === 7 && f.day >= from.slice(0, 7) && f.day <= to.slice(0, 7));
  return json.length + days.length + months.length;
}

const FILE_QUERIES = NAMED_QUERIES.filter((q) =>
  q.render(DUCKDB, { from: '2025-01-01', to: '2025-01-02' }).includes('chat_files'),
);

async function answers(dir: string, from: string, to: string): Promise<{ rows: string; ms: number }> {
  const lake = await openLocalLake(dir);
  try {
    const rows: unknown[] = [];
    const times: number[] = [];
    for (let run = 0; run < 2; run += 1) {
      const started = performance.now();
      for (const q of FILE_QUERIES) rows.push(await lake.runNamed(q.name, { from, to }));
      times.push(performance.now() - started);
    }
    return { rows: JSON.stringify(rows.slice(0, FILE_QUERIES.length)), ms: median(times) };
  } finally {
    await lake.close();
  }
}

async function measure(
  settled: string,
  dayCount: number,
  chatsPerDay: number,
  withYear: boolean,
  nextId: () => string,
  log: (line: string) => void,
): Promise<{ rows: Section['rows']; notes: string[] }> {
  const last = '2025-12-31';
  const days = daysInRange(addDays(last, -(dayCount - 1)), last);
  const dir = `${settled}-files-${Date.now()}`;
  await cp(settled, dir, { recursive: true });
  try {
    const count = await addFileRows(dir, days);
    const windows = [
      { name: '30 days', from: addDays(last, -29), to: last },
      ...(withYear ? [{ name: `${dayCount} days`, from: days[0]!, to: last }] : []),
    ];
    const before = [];
    for (const w of windows)
      before.push({ objects: await objectsOpened(dir, w.from, w.to), ...(await answers(dir, w.from, w.to)) });
    const jsonBytes = (await filesUnder(dir, 'chat-files/', '.json')).reduce((sum, f) => sum + f.bytes, 0);
    const sink = new LocalFileSink(dir);
    const started = performance.now();
    await compactLake({
      sink,
      tables: V2_SOURCE.mergedTables,
      erasures: async () => ({ isErased: () => false, hashes: () => [] }),
    });
    const compactMs = performance.now() - started;
    const parquetBytes = (await filesUnder(dir, 'compacted/chat-files/', '.parquet')).reduce((s, f) => s + f.bytes, 0);
    log(`  chat_files: ${count} rows over ${dayCount} days compacted (with the chats) in ${ms(compactMs)}`);
    const lake = `${(days.length * chatsPerDay).toLocaleString('en-US')} chats, ${chatsPerDay} a day, ${count.toLocaleString('en-US')} file rows`;
    const rows: Section['rows'] = [];
    for (const [i, w] of windows.entries()) {
      const after = { objects: await objectsOpened(dir, w.from, w.to), ...(await answers(dir, w.from, w.to)) };
      const b = before[i]!;
      rows.push({
        id: nextId(),
        metric: `chat_files objects opened by files_per_day / files_by_type, ${w.name} (${lake}): row objects → compacted (same rows: ${after.rows === b.rows ? 'yes' : 'NO'}; ms before / after)`,
        measured: `${b.objects} → ${after.objects} (${(b.objects / Math.max(after.objects, 1)).toFixed(1)} ×; ${b.ms.toFixed(0)} / ${after.ms.toFixed(0)} ms)`,
        target: '≥ 50 × fewer',
        met: b.objects >= 50 * after.objects && after.rows === b.rows,
      });
    }
    rows.push({
      id: nextId(),
      metric: `chat_files storage (${lake}): row objects → Parquet (ZSTD, typed columns + _raw_json)`,
      measured: `${(jsonBytes / 1e6).toFixed(2)} MB → ${(parquetBytes / 1e6).toFixed(2)} MB`,
      target: '—',
      met: undefined,
    });
    return {
      rows,
      notes: [
        `chat_files (${lake}): §9's settled lake with attachment rows added as \`npm run demo\` has them (5 of every 48 chats carry a file, 1 in 8 of those \`gone\`), one JSON object per row as the files tasks write them; compacted by \`compactLake\` with the chats. Objects: the row objects (before) or compacted files (after) a \`dt\`-filtered scan of \`chat_files\` opens (row objects and day files pruned by \`dt\`; every month file's footer); both named queries that read \`chat_files\` return the same rows before and after.`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The chat_files rows of §9's two lakes (a year at `chatsPerDay`, the busy 30 days), before and after compaction. */
export async function measureChatFiles(
  config: BenchConfig,
  lakes: { year: string; busy: string },
  firstId: number,
  log: (line: string) => void,
): Promise<{ rows: Section['rows']; notes: string[] }> {
  let id = firstId;
  const nextId = () => `9.${id++}`;
  const { days, chatsPerDay, busyDays, busyChatsPerDay } = config.compaction;
  const year = await measure(lakes.year, days, chatsPerDay, true, nextId, log);
  const busy = await measure(lakes.busy, busyDays, busyChatsPerDay, false, nextId, log);
  return { rows: [...year.rows, ...busy.rows], notes: [...year.notes, ...busy.notes] };
}
