/**
 * chat_files compacted on AWS (functions/pipeline/athena-compaction.ts, attachments on): its rows
 * go into the same unit as the day's chats, by one more UNLOAD whose SELECT runs in DuckDB here
 * over tables built like the Glue ones (test/support/athena-unload.ts); the UNLOADs and the view
 * `chat_files` go through Trino's grammar, and the view's SQL runs in DuckDB too.
 */
import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { CHAT_FILES_TIER, unloadDaySql, unloadMonthSql, viewColumns, viewSql } from '#lake/athena-compaction-sql.ts';
import { openLocalLake } from '#lake/duckdb-lake.ts';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { DUCKDB } from '#lake/sql-dialect.ts';
import { type CompactionSettings, planCompaction, prepareDay } from '#pipeline/athena-compaction.ts';
import { compactionNight, glueTablesInDuckDb, UNLOAD } from '#test/support/athena-unload.ts';
import { copyLake } from '#test/support/lake-copy.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { archiveAgain, useArchivedLake } from '#test/support/local-archive.ts';

const DAYS = ['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];
const COMPACTABLE = DAYS.slice(0, 4); // 03-06 is still archived again every night
const NOW = new Date('2026-03-10T12:00:00Z');
const SETTINGS: CompactionSettings = {
  prefixes: ['chats/'],
  database: 'livechat_archive',
  bucket: 'lake-bucket',
  timeZone: 'UTC',
  lookbackDays: 3,
  settleHours: 2,
  maxDays: 60,
  monthFiles: false,
  chatFiles: true,
};
const MONTHLY: CompactionSettings = { ...SETTINGS, monthFiles: true };

const archived = useArchivedLake(
  DAYS,
  {
    chatsPerDay: (day) => (day.endsWith('3') ? 120 : 60),
    seed: 21,
  },
  { attachments: true },
);

const night = (lake: string, settings = SETTINGS, now = NOW, sink: LakeSink = new LocalFileSink(lake)) =>
  compactionNight(lake, sink, now, settings);

async function query(dir: string, sql: string) {
  const lake = await openLocalLake(dir);
  try {
    return await lake.query(sql);
  } finally {
    await lake.close();
  }
}

/** Every chat_files row, and the named queries that read chat_files, over the whole lake. */
async function answers(dir: string) {
  const lake = await openLocalLake(dir);
  try {
    const named: Record<string, unknown[]> = {};
    for (const q of NAMED_QUERIES.filter((n) => n.render(DUCKDB, ALL_DAYS).includes('chat_files'))) {
      named[q.name] = await lake.runNamed(q.name, ALL_DAYS);
    }
    const rows = await lake.query('SELECT * FROM chat_files ORDER BY dt, coalesce(thread_id, chat_id), url');
    return { rows, named };
  } finally {
    await lake.close();
  }
}

const fileObjects = async (dir: string) =>
  (await listFiles(dir)).filter((f) => /^(chat-files|compacted\/chat-files|compaction-staging)\//.test(f));
const perFile =
  'SELECT dt, coalesce(thread_id, chat_id) AS chat, url, count(*) AS n FROM chat_files GROUP BY ALL HAVING count(*) > 1';

describe('chat_files on AWS: one more UNLOAD per unit, into the unit’s compacted files', () => {
  it('a night compacts each day’s rows beside its chats; the same rows and answers; the next night finds nothing', async () => {
    const lake = await copyLake(archived.out);
    const before = await answers(lake);
    expect(before.rows.length).toBeGreaterThan(20);
    expect(Object.keys(before.named).sort()).toEqual(['files_by_type', 'files_per_day']);
    const { committed } = await night(lake);
    expect(committed.map((c) => [c.day, c.status, c.written.length])).toEqual(
      COMPACTABLE.map((day) => [day, 'compacted', 2]),
    );
    expect(await fileObjects(lake)).toEqual([
      ...(await fileObjects(archived.out)).filter((f) => f.startsWith(`chat-files/dt=${DAYS[4]}/`)),
      ...COMPACTABLE.map((day) =>
        expect.stringMatching(new RegExp(`^compacted/chat-files/dt=${day}/compacted-[0-9a-f]{16}-00001\\.parquet$`)),
      ),
    ]);
    expect(await answers(lake)).toEqual(before);
    const files = await listFiles(lake);
    expect((await night(lake)).plan.days).toEqual([]);
    expect(await listFiles(lake)).toEqual(files);
  });

  it('month files: the month’s rows in one file beside the chats’ month file; the same answers', async () => {
    const lake = await copyLake(archived.out);
    const before = await answers(lake);
    const { committed } = await night(lake, MONTHLY);
    expect(committed.map((c) => [c.day, c.written.length])).toEqual([['2026-03', 2]]);
    expect((await fileObjects(lake)).filter((f) => f.startsWith('compacted/'))).toEqual([
      expect.stringMatching(
        /^compacted\/chat-files\/month=2026-03\/compacted-from-2026-03-01-[0-9a-f]{16}-00001\.parquet$/,
      ),
    ]);
    expect(await answers(lake)).toEqual(before);
    // The next night adds the newly settled day to the month file.
    await night(lake, MONTHLY, new Date(NOW.getTime() + 86_400_000));
    expect(await fileObjects(lake)).toEqual([expect.stringMatching(/^compacted\/chat-files\/month=2026-03\//)]);
    expect(await answers(lake)).toEqual(before);
  });

  it('a re-archive of a compacted day with new chats and their files: each file once before and after the next night', async () => {
    for (const settings of [SETTINGS, MONTHLY]) {
      const lake = await copyLake(archived.out);
      await night(lake, settings);
      const day = DAYS[1]!;
      const added = archived.sim.addChats(day, 20, 'random');
      const run = await archiveAgain(archived.sim, lake, [day], `backfill-${settings.monthFiles}`, undefined, true);
      expect(run.complete).toBe(true);
      expect(await query(lake, perFile)).toEqual([]);
      const during = await answers(lake);
      const newIds = new Set(added.map((chat) => chat.id));
      expect(during.rows.some((row) => newIds.has(String(row['chat_id'])))).toBe(true);
      const { plan } = await night(lake, settings);
      expect(plan.days).toEqual([settings.monthFiles ? '2026-03' : day]);
      expect((await fileObjects(lake)).filter((f) => f.startsWith(`chat-files/dt=${day}/`))).toEqual([]);
      expect(await query(lake, perFile)).toEqual([]);
      expect(await answers(lake)).toEqual(during);
    }
  });

  it('a day with new rows only (its files tasks ran after the compaction) is planned and compacted again', async () => {
    const lake = await copyLake(archived.out);
    await night(lake);
    const before = await answers(lake);
    const day = DAYS[0]!;
    const [key] = (await fileObjects(archived.out)).filter((f) => f.startsWith(`chat-files/dt=${day}/`));
    const sink = new LocalFileSink(lake);
    await sink.put(key!, (await new LocalFileSink(archived.out).get(key!))!, 'json'); // a files task's row written again
    expect((await planCompaction(sink, SETTINGS, NOW)).days).toEqual([day]);
    await night(lake);
    expect((await fileObjects(lake)).filter((f) => f.startsWith('chat-files/'))).toEqual(
      (await fileObjects(archived.out)).filter((f) => f.startsWith(`chat-files/dt=${DAYS[4]}/`)),
    );
    expect(await answers(lake)).toEqual(before);
  });

  it('a commit failed between its writes and its deletes: each file once; the next night finishes', async () => {
    const lake = await copyLake(archived.out);
    const before = await answers(lake);
    const inner = new LocalFileSink(lake);
    const failing: LakeSink = Object.assign(Object.create(inner) as LakeSink, {
      delete: async () => Promise.reject(new Error('S3 unavailable')),
    });
    await expect(night(lake, SETTINGS, NOW, failing)).rejects.toThrow('S3 unavailable');
    expect((await fileObjects(lake)).some((f) => f.startsWith('compacted/chat-files/'))).toBe(true);
    expect(await answers(lake)).toEqual(before);
    await night(lake);
    expect((await fileObjects(lake)).filter((f) => f.startsWith('compaction-staging/'))).toEqual([]);
    expect(await answers(lake)).toEqual(before);
  });

  it('retention: the month’s chat_files file loses its expired days with the chats’ file', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, MONTHLY);
    // 03-04 is the first day kept on 2026-04-03 with retentionDays 30.
    const { plan } = await night(lake, { ...MONTHLY, retentionDays: 30 }, new Date('2026-04-03T12:00:00Z'));
    expect(plan.days).toEqual(['2026-03']);
    expect((await fileObjects(lake)).filter((f) => f.startsWith('compacted/'))).toEqual([
      expect.stringMatching(
        /^compacted\/chat-files\/month=2026-03\/compacted-from-2026-03-04-[0-9a-f]{16}-00001\.parquet$/,
      ),
    ]);
    const days = await query(lake, 'SELECT DISTINCT dt FROM chat_files ORDER BY dt');
    expect(days.map((row) => row['dt'])).toEqual(DAYS.slice(2));
  });

  it('attachments off (chatFiles false): no chat_files UNLOAD, row objects left alone', async () => {
    const lake = await copyLake(archived.out);
    const prepared = await prepareDay(new LocalFileSink(lake), { ...SETTINGS, chatFiles: false }, DAYS[0]!, NOW);
    expect('unloads' in prepared && prepared.unloads.map((u) => u.table)).toEqual(['chats/']);
    await night(lake, { ...SETTINGS, chatFiles: false });
    expect(await fileObjects(lake)).toEqual(await fileObjects(archived.out));
  });

  it('the view chat_files (Athena’s SQL, run by DuckDB over the Glue-like tables) returns the DuckDB view’s rows, during a re-archive too', async () => {
    const lake = await copyLake(archived.out);
    await night(lake, MONTHLY);
    archived.sim.addChats(DAYS[2]!, 10, 'random');
    await archiveAgain(archived.sim, lake, [DAYS[2]!], 'backfill-view', undefined, true);
    const local = (await answers(lake)).rows;
    const duck = await glueTablesInDuckDb(lake, CHAT_FILES_TIER, SETTINGS.database);
    try {
      const athena = (
        await duck.c.runAndReadAll(
          `SELECT * FROM (${viewSql(SETTINGS.database, CHAT_FILES_TIER)}) ORDER BY dt, coalesce(thread_id, chat_id), url`,
        )
      ).getRowObjectsJS();
      expect(athena).toHaveLength(local.length);
      expect(athena.map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)))).toEqual(
        local.map((row) => JSON.stringify(row)),
      );
    } finally {
      duck.close();
    }
  });
});

describe('the chat_files SQL is Trino', () => {
  const trino = new TrinoSQL();
  it('the day and month UNLOADs wrap SELECTs Trino’s grammar accepts, each table read by its partition', () => {
    const day = unloadDaySql(
      'livechat_archive',
      CHAT_FILES_TIER,
      '2026-03-02',
      's3://lake-bucket/compaction-staging/chat-files/dt=2026-03-02/0123456789abcdef/',
    );
    const [, daySelect] = UNLOAD.exec(day)!;
    expect(trino.validate(daySelect!)).toEqual([]);
    expect(daySelect!.match(/WHERE (?:\w\.)?dt = '2026-03-02'/g)).toHaveLength(3);
    expect(daySelect).toContain('ON l.file = j."$path"');
    expect(daySelect).toContain('PARTITION BY coalesce(thread_id, chat_id), url');
    const month = unloadMonthSql(
      'livechat_archive',
      CHAT_FILES_TIER,
      '2026-03',
      ['2026-03-02', '2026-03-03'],
      's3://lake-bucket/compaction-staging/chat-files/month=2026-03/0123456789abcdef/',
      '2026-03-03',
    );
    const [, monthSelect] = UNLOAD.exec(month)!;
    expect(trino.validate(monthSelect!)).toEqual([]);
    expect(monthSelect!.match(/WHERE (?:\w\.)?dt IN \('2026-03-02', '2026-03-03'\)/g)).toHaveLength(3);
    expect(monthSelect).toContain("WHERE m.month = '2026-03'");
    expect(monthSelect).toContain('PARTITION BY dt, coalesce(thread_id, chat_id), url');
  });

  it('the view’s SQL and its column types parse as Trino; the grammar check can fail', () => {
    expect(trino.validate(viewSql('livechat_archive', CHAT_FILES_TIER))).toEqual([]);
    for (const column of viewColumns(CHAT_FILES_TIER)) {
      expect(trino.validate(`SELECT CAST(NULL AS ${column.type}) AS x`), column.name).toEqual([]);
    }
    expect(viewColumns(CHAT_FILES_TIER).map((c) => `${c.name} ${c.type}`)).toContain('size integer');
    expect(trino.validate(`${viewSql('livechat_archive', CHAT_FILES_TIER)} WHERE`).length).toBeGreaterThan(0);
  });
});
