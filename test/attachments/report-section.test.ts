import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachmentsSection } from '#report/attachments-section.ts';
import { buildReportData } from '#report/build-report.ts';
import { DAY1, DAY2, writeFixtureLake } from '#test/lake/fixtures/chat-lake.ts';

describe('the report’s attachments section', () => {
  it('counts files per day and status from the chat_files rows, as the named query files_per_day does', async () => {
    const lakeDir = await mkdtemp(join(tmpdir(), 'report-files-'));
    await writeFixtureLake(lakeDir);
    const data = await buildReportData({ lakeDir, outDir: 'unused' });
    expect(data.files).toEqual([
      { day: DAY1, counts: { stored: 1, gone: 1, too_large: 0, refused_host: 0, failed: 0 }, bytesStored: 1000 },
      { day: DAY2, counts: { stored: 1, gone: 0, too_large: 0, refused_host: 1, failed: 0 }, bytesStored: 200 },
    ]);
    const section = attachmentsSection(data.files!);
    expect(section.part).toBe('health');
    expect(section.intro).toContain('2 not stored');
    expect(section.table.rows.map((row) => row.cells.map((cell) => cell.value))).toEqual([
      [DAY1, 1, 1, 0, 0, 0, 1000],
      [DAY2, 1, 0, 0, 1, 0, 200],
    ]);
    // A range without attachment rows has no section.
    const before = await buildReportData({ lakeDir, outDir: 'unused', from: '2024-02-28', to: '2024-02-29' });
    expect(before.files).toBeUndefined();
  });
});
