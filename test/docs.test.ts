import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USAGE } from '#cli/archive-args.ts';
import { COMPACT_USAGE } from '#cli/compact-command.ts';
import { ERASE_USAGE } from '#cli/erase-args.ts';
import { PRUNE_USAGE } from '#cli/prune-args.ts';
import { REPORT_USAGE } from '#cli/report-command.ts';
import { configSchema } from '#infra/config.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const doc = (page: string) => readFileSync(new URL(`../docs/${page}`, import.meta.url), 'utf8');
const deployPage = doc('deploy.md');
const cliPage = doc('cli.md');
const queriesPage = doc('queries.md');

describe('README and docs/ match the code', () => {
  it('documents every configuration key with its default', () => {
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    for (const key of Object.keys(configSchema.shape)) {
      const row = deployPage.split('\n').find((line) => line.startsWith(`| \`${key}\` |`));
      expect(row, `docs/deploy.md config row for ${key}`).toBeDefined();
      const value = defaults[key];
      expect(row).toContain(value === undefined ? '(unset)' : `\`${JSON.stringify(value)}\``);
    }
  });

  it('documents every CLI flag', () => {
    for (const usage of [USAGE, ERASE_USAGE, PRUNE_USAGE, COMPACT_USAGE]) {
      for (const flag of usage.match(/--[a-z-]+/g) ?? []) expect(cliPage, flag).toContain(flag);
    }
  });

  it('has .ci/run install the Chromium the report test drives, before npm test', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(
      /if \[ ! -x \/usr\/bin\/chromium \]; then\n\s+apt-get update && [^\n]*apt-get install -y chromium\n/,
    );
    expect(ci.indexOf('apt-get install')).toBeLessThan(ci.indexOf('npm test'));
  });

  it('documents the report command and each of its flags', () => {
    expect(cliPage).toContain(REPORT_USAGE.replace('usage: ', ''));
    for (const flag of REPORT_USAGE.match(/--[a-z-]+/g) ?? []) expect(cliPage, flag).toContain(`| \`${flag}`);
    expect(readme).toContain('](docs/report-screenshot.png)');
  });

  it('documents every named query', () => {
    for (const query of NAMED_QUERIES) expect(queriesPage, query.name).toContain(`**${query.name}**`);
  });

  it('gives the two set-up commands that .ci/run uses', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(ci).toMatch(/npm ci[^\n]*\nnpm test/);
  });
});
