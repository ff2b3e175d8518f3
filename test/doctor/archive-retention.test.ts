import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '#cli/archive-command.ts';
import { addDays } from '#shared/day-range.ts';
import { localDay } from '#shared/time-zone.ts';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { oldestServedDay } from '#sources/license-retention.ts';
import { runArchiveCli } from '#test/support/cli-runner.ts';

let servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

const today = localDay(new Date(), 'UTC');
const oldest = oldestServedDay(today, { months: 2 })!;

describe('archive and the license retention (issue 24, item 4)', () => {
  it('refuses a v3.6 --from older than the retention with one line, before any list_archives request or write', async () => {
    const sim = await startV36Simulator({
      from: addDays(oldest, -5),
      to: addDays(oldest, 2),
      chatsPerDay: 5,
      retention: { months: 2, beyond: 'limit_reached' },
    });
    servers.push(sim);
    const out = join(await mkdtemp(join(tmpdir(), 'retention-')), 'lake');
    const env = { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token };
    const args = ['--source', 'v3.6', '--api-url', sim.url, '--out', out];
    const refused = await runArchiveCli([...args, '--from', addDays(oldest, -3), '--to', addDays(oldest, 1)], env);
    expect(refused.code).toBe(EXIT.usage);
    const errors = refused.stderr.split('\n').filter((line) => line.startsWith('error: '));
    expect(errors).toEqual([
      `error: --from ${addDays(oldest, -3)} is older than this account's chat history: its license keeps 2 months ` +
        `(archives_retention), so LiveChat serves chats from ${oldest} on; archive --from ${oldest} or later`,
    ]);
    expect(sim.stats().bodies).toEqual([]);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);

    const inside = await runArchiveCli([...args, '--from', oldest, '--to', addDays(oldest, 1)], env);
    expect(inside.code).toBe(EXIT.ok);
  });

  it('refuses it for v2 when LIVECHAT_ACCOUNT_ID lets the PAT read the retention, and archives as before when it cannot', async () => {
    const sim = await startSimulator({
      from: addDays(oldest, -2),
      to: oldest,
      chatsPerDay: 5,
      retention: { months: 2 },
    });
    servers.push(sim);
    const out = await mkdtemp(join(tmpdir(), 'retention-v2-'));
    const args = ['--api-url', sim.url, '--out', out, '--from', addDays(oldest, -1), '--to', oldest];
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };
    const refused = await runArchiveCli(args, { ...env, LIVECHAT_ACCOUNT_ID: sim.accountId });
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toMatch(/^error: --from \S+ is older than this account's chat history/m);
    // Without the account id the retention is unknown: the run goes ahead (LiveChat serves nothing older).
    const unknown = await runArchiveCli(args, env);
    expect(unknown.code).toBe(EXIT.ok);
  });
});
