import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEMP_ROOT_VARIABLE } from './support/temp-root.ts';

describe('a test run tidies up after itself', () => {
  it('puts every temporary folder under the run root the global teardown removes', async () => {
    const root = process.env[TEMP_ROOT_VARIABLE];
    expect(root).toMatch(/livechat-archiver-tests-/);
    expect(tmpdir()).toBe(root);
    expect(await mkdtemp(join(tmpdir(), 'lake-'))).toMatch(new RegExp(`^${root}/lake-`));
  });

  it('ends npm test with one line saying everything passed, after the last step', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    // The synth names where alarms go, as every deploy must (issue 20: alarms reach a person).
    expect(pkg.scripts.test).toMatch(
      /&& npm run synth -- -c livechatArchiver\.alarmEmail=\S+ && echo 'npm test: [^']*passed'$/,
    );
  });

  it('runs the Lambda handlers with their log lines silenced (a green run prints no ERROR line)', () => {
    expect(process.env.POWERTOOLS_LOG_LEVEL).toBe('SILENT');
    expect(process.env.POWERTOOLS_METRICS_DISABLED).toBe('true');
  });
});
