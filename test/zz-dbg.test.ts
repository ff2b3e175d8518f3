import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { dayTask } from '#shared/archive-task.ts';
import { startSimulator } from '#simulator/index.ts';
import { createLivechatClient } from '#sources/v2/livechat-client.ts';
import { listFiles } from '#test/support/lake-reader.ts';
import { deliverUntilEmpty } from '#test/support/queue-harness.ts';

const DAYS = ['2026-07-01', '2026-07-02', '2026-07-03'];
it('dbg', async () => {
  const sim = await startSimulator({ from: DAYS[0]!, to: DAYS.at(-1)!, chatsPerDay: () => 70 });
  const out = await mkdtemp(join(tmpdir(), 'lake-'));
  const client = createLivechatClient({ apiUrl: sim.url, credentials: sim.credentials, baseRetryDelayMs: 5 });
  const { results } = await deliverUntilEmpty(
    DAYS.map((day) => dayTask('run-1', day, 1, {}, 'UTC')),
    { client, sink: new LocalFileSink(out), maxAttempts: 5 },
    { seed: 3, shuffle: true },
  );
  console.log(
    JSON.stringify(results.map((r) => [r.kind, r.day, (r as any).reason ?? (r as any).next ?? (r as any).kept])),
  );
  console.log((await listFiles(out)).join('\n'));
  await sim.close();
});
