import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCTOR_USAGE } from '#cli/doctor-args.ts';
import { DOCTOR_EXIT } from '#cli/doctor-command.ts';
import { CHECK_NAMES } from '#doctor/check-result.ts';

const page = readFileSync(new URL('../../docs/doctor.md', import.meta.url), 'utf8');

describe('docs/doctor.md matches the doctor', () => {
  it('documents every flag, every check and every exit code', () => {
    for (const flag of DOCTOR_USAGE.match(/(?<!\w)--[a-z][a-z-]*/g) ?? []) expect(page, flag).toContain(`\`${flag}`);
    for (const check of CHECK_NAMES) expect(page, check).toContain(`- **${check}**`);
    for (const code of Object.values(DOCTOR_EXIT)) expect(page).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  it('shows a sample whose every line is a checklist line of a known check', () => {
    const sample = page.slice(page.indexOf('## A sample run'));
    const lines = sample.split('\n').filter((line) => /^(ok|warning|failed) /.test(line));
    expect(lines.map((line) => line.split(/\s+/)[1])).toEqual([...CHECK_NAMES]);
  });
});
