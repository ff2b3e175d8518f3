import { existsSync } from 'node:fs';
import { cp, open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BenchConfig } from '#bench/support/config.ts';
import { median, ms, type Section } from '#bench/support/report.ts';
import { SMALL_DAY_CHATS } from '#lake/compacted-columns.ts';
import { compactLake } from '#lake/compaction.ts';
import { readDayPartition, settleDayPartition } from '#lake/day-consolidation.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { addDays, daysInRange } from '#shared/day-range.ts';
import { V2_SOURCE } from '#sources/v2/v2-source-info.ts';
import { measureChatFiles } from './compaction-chat-files.ts';
import { cachedLake } from './query.ts';

/** Athena's prices (us-east-1): $5 per TB scanned, at least 10 MB a query; S3 GET $0.0004 per 1 000. */
const ATHENA_PER_BYTE = 5 / 1e12;
const ATHENA_MIN_BYTES = 10 * 1024 * 1024;
const GET_PRICE = 0.0004 / 1000;

/** What one query reads from one lake over one window. */
interface Read {
  /** Objects opened: every file a scan reads whole, or whose footer it reads. */
  objects: number;
  /** Of those, the objects whose data (column chunks) a scan reads: a month file outside the window is only its footer. */
  dataObjects: number;
  bytes: number;
  /** S3 requests Athena would make: one GET per JSON object; per Parquet file the footer and one range GET per column chunk read. */
  gets: number;
  ms: number;
}

interface PlanNode {
  /** The operator of EXPLAIN's plan. */
  name?: string;
  /** The operator of EXPLAIN ANALYZE's profile. */
  operator_name?: string;
  extra_info?: Record<string, unknown>;
  children?: PlanNode[];
}

const text = (value: unknown) => (Array.isArray(value) ? value.join(' ') : String(value ?? ''));

const scanName = (node: PlanNode) => node.name ?? node.operator_name;

/** Every scan of a DuckDB JSON plan or profile. */
function scans(node: PlanNode, into: PlanNode[] = []): PlanNode[] {
  const name = scanName(node);
  if (name === 'READ_JSON' || name === 'READ_PARQUET') into.push(node);
  for (const child of node.children ?? []) scans(child, into);
  return into;
}

/** `dt BETWEEN '…' AND '…'` / `dt >= '…'` of a scan's file filter, as the files of the lake it keeps. */
function filesInWindow<T extends { day: string }>(files: readonly T[], from: string, to: string): T[] {
  return files.filter((file) => file.day >= from && file.day <= to);
}

interface LakeFile {
  path: string;
  day: string;
  bytes: number;
}

async function lakeFiles(dir: string, prefix: string, extension: string): Promise<LakeFile[]> {
  const { readdir } = await import('node:fs/promises');
  const root = join(dir, prefix);
  if (!existsSync(root)) return [];
  const out: LakeFile[] = [];
  for (const part of await readdir(root)) {
    for (const name of await readdir(join(root, part))) {
      if (!name.endsWith(extension)) continue;
      const path = join(root, part, name);
      // `dt=yyyy-MM-dd` (a day), or `month=yyyy-MM` (a compacted month: its days are in its rows).
      out.push({ path, day: part.slice(part.indexOf('=') + 1), bytes: (await stat(path)).size });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Compressed bytes of the column chunks a Parquet scan reads (its projections and filters), per
 * file; with `window` (month files, whose `dt` is a column), only the row groups whose `dt`
 * statistics overlap it (Athena and DuckDB skip the others after reading the footer).
 */
async function parquetBytes(
  files: readonly LakeFile[],
  columns: readonly string[],
  window?: { from: string; to: string },
): Promise<{ bytes: number; chunks: number; filesRead: number }> {
  if (files.length === 0) return { bytes: 0, chunks: 0, filesRead: 0 };
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    const list = files.map((file) => `'${file.path}'`).join(', ');
    const reader = await connection.runAndReadAll(
      `SELECT file_name AS file, row_group_id AS grp, path_in_schema AS path, total_compressed_size AS size,
              stats_min_value AS lo, stats_max_value AS hi
       FROM parquet_metadata([${list}])`,
    );
    type Chunk = { file: string; grp: bigint; path: string; size: bigint; lo: string | null; hi: string | null };
    const all = reader.getRowObjectsJS() as Chunk[];
    const inWindow = new Set(
      all
        .filter((c) => !window || (c.path === 'dt' && String(c.hi) >= window.from && String(c.lo) <= window.to))
        .map((c) => `${c.file}#${c.grp}`),
    );
    let bytes = 0;
    let chunks = 0;
    const filesRead = new Set<string>();
    for (const row of all) {
      if (!inWindow.has(`${row.file}#${row.grp}`)) continue;
      const path = row.path.split(', ');
      const wanted = columns.some((column) => {
        const parts = column.split('.');
        return parts.every((part, index) => path[index] === part) || path.slice(0, parts.length).join('.') === column;
      });
      if (!wanted) continue;
      bytes += Number(row.size);
      chunks += 1;
      filesRead.add(row.file);
    }
    // Each file's footer (its metadata) is read too: its length is the 4 bytes before the closing `PAR1`.
    for (const file of files) bytes += await footerBytes(file.path);
    return { bytes, chunks, filesRead: filesRead.size };
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

/** A Parquet file's footer (file metadata, its length and the magic `PAR1`), in bytes. */
async function footerBytes(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(8);
    await handle.read(tail, 0, 8, size - 8);
    return tail.readUInt32LE(0) + 8;
  } finally {
    await handle.close();
  }
}

/** Column names a scan's Projections and Filters name (struct fields as `a.b`). */
function scanColumns(scan: PlanNode): string[] {
  const names = new Set<string>();
  const projections = text(scan.extra_info?.['Projections']);
  for (const token of projections.split(/\s+|,/)) if (token) names.add(token.replaceAll('"', ''));
  const filters = text(scan.extra_info?.['Filters']);
  for (const match of filters.matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)"?\s*(?:=|<|>|IS|BETWEEN|IN)/g)) names.add(match[1]!);
  return [...names];
}

/** `yyyy-MM` of a day. */
const monthOf = (day: string) => day.slice(0, 7);

async function measure(dir: string, sql: string, from: string, to: string): Promise<Read> {
  const lake = await openLocalLake(dir);
  try {
    const compacted = await lakeFiles(dir, 'compacted/chats/', '.parquet');
    // A lake with Parquet files: the plan DuckDB ran (EXPLAIN ANALYZE), which says how many files
    // each scan opened; the JSON lakes: the plan alone (their files are the window's days).
    const analyze = compacted.length > 0;
    const explained = await lake.query<{ explain_value: string }>(
      `EXPLAIN (${analyze ? 'ANALYZE, ' : ''}FORMAT json) ${sql}`,
    );
    const parsed = JSON.parse(explained[0]!.explain_value) as PlanNode | PlanNode[];
    const plan = Array.isArray(parsed) ? parsed : [parsed];
    const read: Read = { objects: 0, dataObjects: 0, bytes: 0, gets: 0, ms: 0 };
    const json = filesInWindow(
      [...(await lakeFiles(dir, 'chats/', '.json.gz')), ...(await lakeFiles(dir, 'archives/', '.json.gz'))],
      from,
      to,
    );
    const days = filesInWindow(
      compacted.filter((file) => file.day.length === 10),
      from,
      to,
    );
    const months = compacted.filter((file) => file.day.length === 7);
    for (const scan of plan.flatMap((node) => scans(node))) {
      if (scanName(scan) === 'READ_JSON') {
        read.objects += json.length;
        read.dataObjects += json.length;
        read.gets += json.length;
        read.bytes += json.reduce((sum, file) => sum + file.bytes, 0);
        continue;
      }
      const opened = Number(scan.extra_info?.['Total Files Read'] ?? Number.NaN);
      if (opened === 0) continue;
      // The month files' scan: pruned by name only by a filter on month (its hive partition); then
      // the window's months, else every month file (a dt filter does not skip them by name).
      const month = /\/month=/.test(text(scan.extra_info?.['Filename(s)']));
      const byMonth = /\bmonth\b/.test(text(scan.extra_info?.['File Filters']));
      const files = month
        ? months.filter((file) => !byMonth || (file.day >= monthOf(from) && file.day <= monthOf(to)))
        : days;
      if (files.length !== opened) {
        throw new Error(`DuckDB opened ${opened} files in a Parquet scan, the bench counts ${files.length}: ${sql}`);
      }
      const { bytes, chunks, filesRead } = await parquetBytes(
        files,
        scanColumns(scan),
        month ? { from, to } : undefined,
      );
      read.objects += files.length;
      read.dataObjects += filesRead;
      read.gets += files.length + chunks;
      read.bytes += bytes;
    }
    const times: number[] = [];
    for (let run = 0; run < 2; run += 1) {
      const started = performance.now();
      await lake.query(sql);
      times.push(performance.now() - started);
    }
    read.ms = median(times);
    return read;
  } finally {
    await lake.close();
  }
}

/** The bench lake of §6, every day settled into one JSON file (as a night leaves it), cached. */
async function settledCopy(source: string, days: readonly string[], log: (line: string) => void): Promise<string> {
  const dir = `${source}-settled`;
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return dir;
  log(`  settling every day of ${source} into ${dir}…`);
  await rm(dir, { recursive: true, force: true });
  await cp(source, dir, { recursive: true });
  const sink = new LocalFileSink(dir);
  const pass = { runId: 'bench-query-lake', attempt: 1, plan: 'bench' };
  for (const day of days) {
    const partition = await readDayPartition(sink, day, V2_SOURCE.mergedTables, pass);
    await settleDayPartition(sink, partition, () => false, partition.passIds);
  }
  await writeFile(marker, new Date().toISOString());
  return dir;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)} ×` : '∞');

/** chats_per_day's objects over one window: page files, Parquet files opened, of those with data read. */
interface ObjectsOpened {
  window: string;
  pages: number;
  opened: number;
  data: number;
  /** Page files per day at this volume (one per 25 chats). */
  chatsPerPageFile: number;
}

/** Issue 26 §6: bytes and objects the named queries read before and after compaction, 30 and 365 days. */
export async function compaction(config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const year = await measureLake(config.compaction.days, config.compaction.chatsPerDay, true, 1, log);
  // The issue's own example: a busy account (2 000 chats a day, 80 page files a day), its last 30 days.
  const busy = await measureLake(
    config.compaction.busyDays,
    config.compaction.busyChatsPerDay,
    false,
    year.rows.length + 1,
    log,
  );
  const files = await measureChatFiles(
    config,
    { year: year.settled, busy: busy.settled },
    year.rows.length + busy.rows.length + 1,
    log,
  );
  const rows = [...year.rows, ...busy.rows];
  const missed = rows.filter((row) => row.met === false);
  const objects = year.objects[0];
  const findings =
    missed.length > 0 && objects
      ? [
          `**Objects over ${objects.window}: under 50 × fewer (rows ${missed.map((row) => row.id).join(', ')}).** The query opened ${objects.opened} Parquet files and read column chunks from ${objects.data} (page files ÷ opened ${ratio(objects.pages, objects.opened)}). Each named query filters \`month\` beside \`dt\` so month files outside its days are not opened (docs/compaction.md); a count above the window's months means that filter no longer reaches the month files' scan.`,
        ]
      : [];
  return {
    title: '9. Compaction (Parquet) — bytes and objects per named query',
    findings,
    rows: [...rows, ...files.rows],
    notes: [...year.notes, '', ...busy.notes, '', ...files.notes],
  };
}

export async function measureLake(
  dayCount: number,
  chatsPerDay: number,
  withYear: boolean,
  firstId: number,
  log: (line: string) => void,
): Promise<{ rows: Section['rows']; notes: string[]; objects: ObjectsOpened[]; settled: string }> {
  const last = '2025-12-31';
  const days = daysInRange(addDays(last, -(dayCount - 1)), last);
  const { dir: pages } = await cachedLake(days, chatsPerDay, log);
  const settled = await settledCopy(pages, days, log);
  const compacted = `${settled}-compacted-${Date.now()}`;
  await cp(settled, compacted, { recursive: true });
  const started = performance.now();
  const sink = new LocalFileSink(compacted);
  const result = await compactLake({
    sink,
    tables: V2_SOURCE.mergedTables,
    erasures: async () => ({ isErased: () => false, hashes: () => [] }),
  });
  const compactMs = performance.now() - started;
  const bytesOf = async (dir: string, prefix: string, ext: string) =>
    (await lakeFiles(dir, prefix, ext)).reduce((sum, file) => sum + file.bytes, 0);
  const storage = {
    pages: await bytesOf(pages, 'chats/', '.json.gz'),
    settled: await bytesOf(settled, 'chats/', '.json.gz'),
    compacted: await bytesOf(compacted, 'compacted/chats/', '.parquet'),
  };
  log(`  compacted ${result.days.length} days in ${ms(compactMs)}`);

  const lake = `${(days.length * chatsPerDay).toLocaleString('en-US')} chats, ${chatsPerDay} a day`;
  const windows = [
    { label: `30 days (${lake})`, from: addDays(last, -29), to: last },
    // The last 30 days fall in one month here; most 30-day windows span two (two month files).
    ...(withYear
      ? [
          { label: `30 days across two months (${lake})`, from: addDays(last, -45), to: addDays(last, -16) },
          { label: `${dayCount} days (${lake})`, from: days[0]!, to: last },
        ]
      : []),
  ];
  const rows: Section['rows'] = [];
  const perQuery: string[] = [
    '| query | window | JSON pages: objects / MB | settled JSON: objects / MB | Parquet: objects / MB | bytes ÷ (settled) | bytes ÷ (pages) | ms pages / settled / Parquet |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const totals = new Map<string, { pages: Read[]; settled: Read[]; compacted: Read[] }>();
  for (const window of windows) {
    const entry = { pages: [] as Read[], settled: [] as Read[], compacted: [] as Read[] };
    totals.set(window.label, entry);
    for (const query of NAMED_QUERIES) {
      if (!/\bFROM chats\b/.test(query.duckdbSql)) continue;
      const sql = query.render(DUCKDB, { from: window.from, to: window.to });
      const a = await measure(pages, sql, window.from, window.to);
      const b = await measure(settled, sql, window.from, window.to);
      const c = await measure(compacted, sql, window.from, window.to);
      entry.pages.push(a);
      entry.settled.push(b);
      entry.compacted.push(c);
      perQuery.push(
        `| ${query.name} | ${window.label} | ${a.objects} / ${mb(a.bytes)} | ${b.objects} / ${mb(b.bytes)} | ${c.objects} / ${mb(c.bytes)} | ${ratio(b.bytes, c.bytes)} | ${ratio(a.bytes, c.bytes)} | ${a.ms.toFixed(0)} / ${b.ms.toFixed(0)} / ${c.ms.toFixed(0)} |`,
      );
      log(`  ${query.name} ${window.label}: ${mb(b.bytes)} → ${mb(c.bytes)}`);
    }
  }
  let id = firstId;
  const objects: ObjectsOpened[] = [];
  const row = (metric: string, measured: string, target = '—', met: boolean | undefined = undefined) =>
    rows.push({ id: `9.${id++}`, metric, measured, target, met });
  row(
    `Lake of ${(days.length * chatsPerDay).toLocaleString('en-US')} chats over ${days.length} days: storage, page files / settled JSON / Parquet (ZSTD, typed columns + _raw_json)`,
    `${mb(storage.pages)} / ${mb(storage.settled)} / ${mb(storage.compacted)}`,
  );
  row(`npm run compact over the settled lake (${result.days.length} days)`, ms(compactMs));
  for (const window of windows) {
    const t = totals.get(window.label)!;
    const idx = (name: string) =>
      NAMED_QUERIES.filter((q) => /\bFROM chats\b/.test(q.duckdbSql)).findIndex((q) => q.name === name);
    const subset = idx('chats_per_day');
    const cp = t.compacted[subset]!;
    const sp = t.settled[subset]!;
    const pp = t.pages[subset]!;
    row(
      `chats_per_day (a column-subset query), ${window.label}: bytes read, settled JSON ÷ Parquet (page files ÷ Parquet)`,
      `${ratio(sp.bytes, cp.bytes)} (${mb(sp.bytes)} → ${mb(cp.bytes)}; pages ${ratio(pp.bytes, cp.bytes)})`,
      '≥ 5 ×',
      sp.bytes >= 5 * cp.bytes,
    );
    objects.push({
      window: window.label,
      pages: pp.objects,
      opened: cp.objects,
      data: cp.dataObjects,
      chatsPerPageFile: Math.ceil(chatsPerDay / 25),
    });
    row(
      `Objects opened per table scan, ${window.label}: page files / settled JSON / Parquet (of which data read)`,
      `${pp.objects} / ${sp.objects} / ${cp.objects} (${cp.dataObjects}) (page files ÷ Parquet ${ratio(pp.objects, cp.objects)}; ÷ data read ${ratio(pp.objects, cp.dataObjects)})`,
      '≥ 50 × fewer',
      pp.objects >= 50 * cp.objects,
    );
    const sum = (reads: Read[], key: keyof Read) => reads.reduce((total, read) => total + read[key], 0);
    row(
      `All ${t.compacted.length} named queries over chats, ${window.label}: bytes read, settled JSON → Parquet`,
      `${mb(sum(t.settled, 'bytes'))} → ${mb(sum(t.compacted, 'bytes'))} (${ratio(sum(t.settled, 'bytes'), sum(t.compacted, 'bytes'))})`,
    );
    const athena = (reads: Read[]) =>
      reads.reduce(
        (total, read) => total + Math.max(read.bytes, ATHENA_MIN_BYTES) * ATHENA_PER_BYTE + read.gets * GET_PRICE,
        0,
      );
    row(
      `Athena estimate, the ${t.compacted.length} queries once, ${window.label}: scan + GET cost, page files / settled JSON / Parquet`,
      `$${athena(t.pages).toFixed(4)} / $${athena(t.settled).toFixed(4)} / $${athena(t.compacted).toFixed(4)}`,
    );
    row(
      `DuckDB wall time of the ${t.compacted.length} queries (medians of 2 runs), ${window.label}: page files / settled JSON / Parquet`,
      `${ms(sum(t.pages, 'ms'))} / ${ms(sum(t.settled, 'ms'))} / ${ms(sum(t.compacted, 'ms'))}`,
    );
  }
  await rm(compacted, { recursive: true, force: true });
  return {
    rows,
    objects,
    settled,
    notes: [
      `Three copies of the same ${(days.length * chatsPerDay).toLocaleString('en-US')}-chat lake (§6's generator, ${chatsPerDay} chats a day): page files as written (a lake before day settling: ${Math.ceil(chatsPerDay / 25)} files a day), every day settled into one JSON file (what a night leaves now), and compacted by \`compactLake\` (${chatsPerDay <= SMALL_DAY_CHATS ? 'small days: one Parquet file per month' : 'busy days: one Parquet file per day'}). Each named query that reads \`chats\` runs through \`openLocalLake\` over the last 30 days${withYear ? `, over 30 days across two months (${addDays(last, -45)} to ${addDays(last, -16)}) and over all ${days.length} days` : ''}.`,
      'Objects: the files each JSON or Parquet scan of the query plan opens. Parquet: the count DuckDB reports for each scan it ran (`EXPLAIN ANALYZE`, "Total Files Read"; the bench checks its own file list against it): day files pruned by `dt`, month files by `month` (their partition; each named query filters the months of its days beside `dt`, as Athena does with partition projection), their data read only from the row groups whose `dt` statistics overlap the window ("of which data read"). JSON: the files of the window (pruned by `dt`). Bytes: a JSON file is read whole; for Parquet, the compressed size of the column chunks the scan projects or filters on (DuckDB `EXPLAIN (FORMAT json)` projections, struct fields as pushed down; `parquet_metadata`), in the row groups it reads, plus each file\'s footer (its length from the file\'s last 8 bytes). Athena reads the same: whole gzip JSON objects, Parquet footers and the column chunks it needs.',
      'Athena estimate: $5 per TB scanned with the 10 MB minimum per query, plus S3 GETs at $0.0004 per 1 000 (one per JSON object; per Parquet file its footer and at most one range GET per column chunk: an upper bound, Trino merges nearby ranges). Partition listings are left out: one LIST per projected day of each table partitioned by `dt` (the same before and after), and per projected month of the months table, which the named queries narrow to the months of the window by their `month` filter (1 or 2 over 30 days, 12 over 365; a query filtering `dt` alone lists every month from `projectionStart`, 84 from the default 2020-01 to 2026-12).',
      '',
      ...perQuery,
    ],
  };
}
