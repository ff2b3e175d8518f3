import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MachineFacts, Section } from '#bench/support/report.ts';
import { type BenchRun, mergeResults } from '#bench/support/results-file.ts';

const machine: MachineFacts = {
  node: 'v24.0.0',
  cpu: 'Test CPU',
  cores: 2,
  memory: '8.0 GiB',
  os: 'linux test',
  date: '2026-12-06T10:00:00.000Z',
  load: '1.00, 1.00, 1.00',
  code: 'commit abc1234 (clean outside bench/)',
};

function section(number: number, title: string, met: boolean, finding?: string): Section {
  return {
    title: `${number}. ${title}`,
    rows: [
      { id: `${number}.1`, metric: `${title} figure`, measured: `${number}0 ms`, target: '≤ 1 s', met },
      { id: `${number}.2`, metric: `${title} detail`, measured: 'x', target: '—', met: undefined },
    ],
    notes: [`How ${title} was measured.`],
    findings: finding ? [finding] : [],
  };
}

function run(sections: Section[], only?: string[], date = machine.date): BenchRun {
  return {
    only,
    mode: 'full',
    command: only ? `npm run bench -- --only ${only.join(',')}` : 'npm run bench',
    machine: { ...machine, date },
    loadAtEnd: '2.00, 1.50, 1.00',
    totalMs: 12_345,
    sections,
    timings: sections.map((s) => ({ label: `${s.title.split(' ')[0]} ${s.title.slice(3).toLowerCase()}`, ms: 1500 })),
  };
}

const dayBlock = [
  '<!-- day-50k:start -->',
  '## 8. A 50,000-chat day',
  '',
  'written by bench:day',
  '<!-- day-50k:end -->',
];
const attachments = ['## Attachments (1 000 files)', '', 'written by bench:attachments'];

/** A file as a full run of sections 1, 3 and 7 leaves it, with the other benches' sections after it. */
function fullFile(): string {
  const written = mergeResults(
    '',
    run([
      section(1, 'Throughput', false, '**Throughput is slow (row 1.1).** Cause: one.'),
      section(3, 'Worker cost', true),
      section(7, 'Report', false, '**Report is slow (row 7.1).** Cause: seven.'),
    ]),
  );
  return `${written}\n${dayBlock.join('\n')}\n\n${attachments.join('\n')}\n`;
}

/** The level-2 section of `text` under `heading` (up to the next one), or undefined. */
function sectionText(text: string, heading: string): string | undefined {
  const start = text.indexOf(`\n## ${heading}`);
  if (start < 0) return undefined;
  const ends = ['\n## ', '\n<!-- '].map((mark) => text.indexOf(mark, start + 4)).filter((end) => end >= 0);
  return text.slice(start + 1, ends.length ? Math.min(...ends) : undefined).trim();
}

const headings = (text: string) => text.split('\n').filter((line) => line.startsWith('## '));

describe('bench/RESULTS.md merge (npm run bench -- --only <case> writes its case into the file)', () => {
  it('replaces only the measured case: its rows, problems, section and time; keeps every other part', () => {
    const before = fullFile();
    const after = mergeResults(
      before,
      run(
        [section(3, 'Worker cost', false, '**Worker got slow (row 3.1).** Cause: three.')],
        ['worker'],
        '2026-12-07T08:00:00.000Z',
      ),
    );

    expect(after).toContain('| 3.1 | Worker cost figure | 30 ms | ≤ 1 s | **no** |');
    expect(after.match(/^\| 3\.1 /gm)).toHaveLength(1);
    // The other cases' rows, sections and times are untouched.
    for (const id of ['1.1', '1.2', '7.1', '7.2']) {
      expect(after).toContain(before.split('\n').find((line) => line.startsWith(`| ${id} |`)));
    }
    expect(sectionText(after, '1. Throughput')).toBe(sectionText(before, '1. Throughput'));
    expect(sectionText(after, '7. Report')).toBe(sectionText(before, '7. Report'));
    expect(sectionText(after, 'Machine')).toBe(sectionText(before, 'Machine'));
    expect(after.split('\n')[2]).toBe(before.split('\n')[2]);
    // The case's section says it was re-measured on its own, and when.
    const worker = sectionText(after, '3. Worker cost')!;
    expect(worker).toContain(
      '_Re-measured by `npm run bench -- --only worker` (full mode) on 2026-12-07T08:00:00.000Z',
    );
    expect(worker).toContain('How Worker cost was measured.');
    // Targets recounted over the whole table; problems renumbered in section order.
    expect(after).toContain('0 of 3 targets met (missed: 1.1, 3.1, 7.1)');
    expect(sectionText(after, 'Problems found')).toMatch(
      /1\. \(§1\) \*\*Throughput is slow[^\n]*\n2\. \(§3\) \*\*Worker got slow[^\n]*\n3\. \(§7\) \*\*Report is slow/,
    );
    // One line per timed step: the worker's replaced, the others kept.
    expect(sectionText(after, 'Time per section')!.split('\n').slice(2)).toEqual([
      '- 1. throughput 1.5 s',
      '- 3. worker cost 1.5 s (`--only`, 2026-12-07)',
      '- 7. report 1.5 s',
    ]);
    // The other benches' sections, byte for byte, in their place.
    expect(after).toContain(`${dayBlock.join('\n')}\n\n${attachments.join('\n')}\n`);
    expect(headings(after)).toEqual(headings(before).map((h) => h));
  });

  it('drops the problems of a case that no longer has any, and adds a case the file did not have, in order', () => {
    const after = mergeResults(
      fullFile(),
      run([section(1, 'Throughput', true), section(5, 'Scale', true)], ['throughput', 'scale']),
    );
    expect(sectionText(after, 'Problems found')).not.toContain('Throughput is slow');
    expect(sectionText(after, 'Problems found')).toMatch(/^## Problems found[\s\S]*\n1\. \(§7\) \*\*Report is slow/);
    expect(headings(after).slice(0, 7)).toEqual([
      '## Machine',
      '## Figures',
      '## Problems found',
      '## 1. Throughput',
      '## 3. Worker cost',
      '## 5. Scale',
      '## 7. Report',
    ]);
    const rows = after.split('\n').filter((line) => /^\| \d+\.\d+ \|/.test(line));
    expect(rows.map((line) => line.split(' ')[1])).toEqual(['1.1', '1.2', '3.1', '3.2', '5.1', '5.2', '7.1', '7.2']);
    expect(after).toContain('3 of 4 targets met (missed: 7.1)');
  });

  it('leaves one Time per section after a full run over a file that had two, and keeps the other benches', () => {
    // As bench/RESULTS.md was: a newer list after the other benches' sections, an older one before.
    const twice = `${fullFile()}\n## Time per section\n\n- 1. throughput 9.0 s\n- 7. report 9.0 s\n`;
    expect(headings(twice).filter((h) => h === '## Time per section')).toHaveLength(2);
    const after = mergeResults(twice, run([section(1, 'Throughput', true), section(3, 'Worker cost', true)]));
    expect(headings(after).filter((h) => h === '## Time per section')).toHaveLength(1);
    expect(sectionText(after, 'Time per section')!.split('\n').slice(2)).toEqual([
      '- 1. throughput 1.5 s',
      '- 3. worker cost 1.5 s',
      '- 7. report 9.0 s',
    ]);
    expect(after).toContain(dayBlock.join('\n'));
    expect(after).toContain(attachments.join('\n'));
    // A full run describes itself: no "re-measured" line in the sections it wrote.
    expect(sectionText(after, '1. Throughput')).not.toContain('Re-measured');
  });

  it('keeps the committed bench/RESULTS.md whole when one case is merged into it (one heading each)', () => {
    const committed = readFileSync(new URL('../../bench/RESULTS.md', import.meta.url), 'utf8');
    const levelTwo = headings(committed);
    expect(new Set(levelTwo).size).toBe(levelTwo.length);
    const after = mergeResults(committed, run([section(4, 'Lambda package', true)], ['lambda']));
    expect(headings(after)).toEqual(levelTwo.map((h) => (h.startsWith('## 4. ') ? '## 4. Lambda package' : h)));
    for (const kept of ['1. Throughput', '9. Compaction', '8. A 50,000-chat day', 'Attachments', 'Webhooks']) {
      expect(sectionText(after, kept)).toBe(sectionText(committed, kept));
    }
  });
});
