import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSimulator } from '#simulator/index.ts';
import { startV36Simulator } from '#simulator/v36-simulator.ts';
import { runArchiveCli } from './cli-runner.ts';
import { listFiles } from './lake-reader.ts';

/** A `chat_files` row as the tests of a visitor's files read it. */
export interface FileRow {
  chat_id: string;
  thread_id: string | null;
  status: string;
  lake_key: string | null;
  url: string;
}

/** Every object under `files/` and `chat-files/` of a folder lake, by lake key, sorted. */
export async function objectsUnder(out: string): Promise<string[]> {
  const files = (await listFiles(join(out, 'files'))).map((key) => `files/${key}`);
  const rows = (await listFiles(join(out, 'chat-files'))).map((key) => `chat-files/${key}`);
  return [...files, ...rows].sort();
}

/** The lake's `chat_files` row objects, each with its lake key. */
export async function fileRowsOf(out: string): Promise<Array<FileRow & { key: string }>> {
  const keys = await listFiles(join(out, 'chat-files'));
  return Promise.all(
    keys.map(async (key) => ({
      key: `chat-files/${key}`,
      ...(JSON.parse(await readFile(join(out, 'chat-files', key), 'utf8')) as FileRow),
    })),
  );
}

/**
 * A simulator of `source` over from..to (closed by `closers`), the CLI's credentials for it, and
 * the visitor id of a chat (v2) or thread (v3.6) it serves, '' when it serves none of that id.
 */
export async function simulatorWithVisitors(
  source: 'v2' | 'v3.6',
  days: { from: string; to: string; chatsPerDay: number },
  closers: Array<() => Promise<void>>,
) {
  const { from, to } = days;
  if (source === 'v2') {
    const sim = await startSimulator(days);
    closers.push(() => sim.close());
    return {
      sim,
      env: { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat },
      visitorOf: (owner: string) =>
        String([from, to].flatMap((day) => sim.chats(day)).find((chat) => chat.id === owner)?.['visitor_id'] ?? ''),
    };
  }
  const sim = await startV36Simulator(days);
  closers.push(() => sim.close());
  return {
    sim,
    env: { LIVECHAT_ACCOUNT_ID: sim.accountId, LIVECHAT_PAT: sim.token },
    visitorOf: (owner: string) => {
      const archive = [from, to].flatMap((day) => sim.archives(day)).find((entry) => entry.thread.id === owner);
      const users = (archive?.['users'] ?? []) as Array<{ id: string; type: string }>;
      return users.find((user) => user.type === 'customer')?.id ?? '';
    },
  };
}

/** `npm run archive` of from..to into `out`, files fetched from the simulator's own host (127.0.0.1). */
export function archiveWithFiles(
  source: 'v2' | 'v3.6',
  days: { from: string; to: string },
  apiUrl: string,
  env: Record<string, string | undefined>,
  out: string,
  extra: string[] = [],
) {
  const args = ['--from', days.from, '--to', days.to, '--out', out, '--api-url', apiUrl, '--source', source];
  return runArchiveCli([...args, '--attachment-hosts', '127.0.0.1', ...extra], env);
}
