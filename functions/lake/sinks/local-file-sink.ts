import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LakeSink, ObjectContentType, VersionedObject } from './lake-sink.ts';

const PARTIAL_SUFFIX = '.partial';
const LOCK_SUFFIX = '.lock';
const BROKEN_LOCK_SUFFIX = '.stale-lock';
/** `<file>.<pid>-<random>.partial`: the pid says whether the writer may still rename it into place. */
const PARTIAL_NAME = /\.(\d+)-[0-9a-f]+\.partial$/;
/** A lock covers one stat and one rename: one this old is left by a killed process (or a reused pid). */
const STALE_LOCK_MS = 30_000;
/** A partial of an older build (no pid in its name) this old is a crash leftover. */
const STALE_PARTIAL_MS = 3_600_000;
const LOCK_WAIT_MS = 60_000;
/** This process's part of every temporary name: its pid, then a random tag (threads share a pid), then a counter. */
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`;
let temporaries = 0;
/** Read once: a lock names its host, and `os.hostname()` is a system call each time. */
const HOST = hostname();

/**
 * Writes lake files into a folder. Each file is written under a temporary name in the same folder
 * and renamed into place, so a crash or Ctrl-C leaves at most a `*.partial` file that no reader
 * globbing `*.json.gz` ever picks up (removeLeftovers deletes those of dead processes).
 *
 * Every change of a file (put, delete, replaceIfUnchanged) holds `<file>.lock` (a symbolic link
 * created exclusively, whose target text names its process) for the stat and rename, so a conditional replace is a
 * compare-and-swap across processes too: two erases, or an erase and an archive run, on one
 * folder never undo each other's change. A lock of a dead process, or older than 30 s, is broken.
 */
export class LocalFileSink implements LakeSink {
  readonly location: string;
  // DuckDB reads every member of a settled file (test/lake/settle-reuse.test.ts).
  readonly concatenatedGzip = true;

  constructor(root: string) {
    this.location = resolve(root);
  }

  // A file has no content type: the extension says it all.
  async put(key: string, body: Uint8Array, _contentType?: ObjectContentType): Promise<void> {
    const path = this.pathOf(key);
    const partial = await writePartial(path, body);
    let renamed = false;
    try {
      // A new file (most writes: page files have keys of their own) is hard-linked in without the
      // lock: no compare-and-swap can be pending on a file that does not exist. One that exists is
      // replaced under its lock, as before.
      if (await linkIfAbsent(partial, path)) return;
      await withFileLock(path, () => rename(partial, path));
      renamed = true;
    } finally {
      if (!renamed) await removeFile(partial);
    }
  }

  /** Whole or not at all, like put: the file is written aside, then hard-linked in (which fails if the key exists). */
  async putIfAbsent(key: string, body: Uint8Array, _contentType?: ObjectContentType): Promise<boolean> {
    const path = this.pathOf(key);
    const partial = await writePartial(path, body);
    try {
      return await linkIfAbsent(partial, path);
    } finally {
      await removeFile(partial);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The file's bytes and version (inode, size, mtime of the open file: a rename-in makes a new one). */
  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const info = await handle.stat({ bigint: true });
      return { body: await handle.readFile(), version: fileVersion(info) };
    } finally {
      await handle.close();
    }
  }

  async replaceIfUnchanged(
    key: string,
    version: string,
    body: Uint8Array | undefined,
    _contentType?: ObjectContentType,
  ): Promise<boolean> {
    const path = this.pathOf(key);
    const partial = body ? await writePartial(path, body) : undefined;
    let renamed = false;
    try {
      return await withFileLock(path, async () => {
        if ((await currentVersion(path)) !== version) return false;
        if (partial) {
          await rename(partial, path);
          renamed = true;
        } else await removeFile(path);
        return true;
      });
    } finally {
      if (partial && !renamed) await removeFile(partial);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const folder = prefix.endsWith('/') ? prefix : prefix.slice(0, prefix.lastIndexOf('/') + 1);
    return (await this.filesUnder(folder)).filter((key) => !isWorkFile(key) && key.startsWith(prefix)).sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map((key) => {
        const path = this.pathOf(key);
        return withFileLock(path, () => removeFile(path));
      }),
    );
  }

  /**
   * Deletes what crashed writers left under the prefixes: `*.partial` files of processes that are
   * gone (a partial may hold whole chats, so erase and prune must not leave them) and broken locks.
   * A live process's partial is its write in flight and stays. Returns the keys removed.
   */
  async removeLeftovers(prefixes: readonly string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const prefix of prefixes) {
      for (const key of await this.filesUnder(prefix)) {
        if (!isWorkFile(key) || !(await isLeftover(this.pathOf(key)))) continue;
        await removeFile(this.pathOf(key));
        removed.push(key);
      }
    }
    return removed.sort();
  }

  private async filesUnder(folder: string): Promise<string[]> {
    const path = this.pathOf(folder || '.');
    // Most folders listed that are missing stay missing (erasure records, asked twice by every
    // task): a stat that returns nothing costs far less than the error a failed readdir builds.
    if (!statSync(path, { throwIfNoEntry: false })) return [];
    let entries;
    try {
      entries = await readdir(path, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries
      .filter((entry) => entry.isFile() || entry.isSymbolicLink()) // a lock is a symbolic link
      .map((entry) =>
        join(entry.parentPath, entry.name)
          .slice(this.location.length + 1)
          .split(sep)
          .join('/'),
      );
  }

  private pathOf(key: string): string {
    const path = resolve(this.location, key);
    if (path !== this.location && !path.startsWith(this.location + sep)) {
      throw new Error(`lake key escapes the lake folder: ${key}`);
    }
    return path;
  }
}

const isWorkFile = (key: string) =>
  key.endsWith(PARTIAL_SUFFIX) || key.endsWith(LOCK_SUFFIX) || key.endsWith(BROKEN_LOCK_SUFFIX);

/** A file's version for replaceIfUnchanged, from a `stat(…, { bigint: true })`: a rename-in makes a new one. */
export const fileVersion = (info: { ino: bigint; size: bigint; mtimeNs: bigint }) =>
  `${info.ino}:${info.size}:${info.mtimeNs}`;

async function currentVersion(path: string): Promise<string | undefined> {
  try {
    return fileVersion(await stat(path, { bigint: true }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes `body` beside `path` under a temporary name of this process; the folder is made only when it is missing. */
async function writePartial(path: string, body: Uint8Array): Promise<string> {
  temporaries += 1;
  const partial = `${path}.${PROCESS_TAG}${temporaries.toString(16)}${PARTIAL_SUFFIX}`;
  try {
    try {
      await writeFile(partial, body);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(path), { recursive: true });
      await writeFile(partial, body);
    }
  } catch (error) {
    await removeFile(partial);
    throw error;
  }
  return partial;
}

/** Hard-links a written file in at `path`: false, leaving `path` as it is, when something is there already. */
async function linkIfAbsent(written: string, path: string): Promise<boolean> {
  try {
    await link(written, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes one file; one already gone is fine (one system call, where `rm` makes two). */
async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isLeftover(path: string): Promise<boolean> {
  if (path.endsWith(BROKEN_LOCK_SUFFIX)) return true;
  if (path.endsWith(LOCK_SUFFIX)) return isStaleLock(path, await readLock(path));
  const pid = PARTIAL_NAME.exec(path)?.[1];
  if (pid !== undefined) return !isAlive(Number(pid));
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_PARTIAL_MS;
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== 'EINVAL') throw error;
  }
  // A lock of an earlier version: a regular file holding the same text.
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `<pid> <host> <random> <ms since epoch>`: stale when its process is gone (same host) or it is old. */
async function isStaleLock(path: string, holder: string | undefined): Promise<boolean> {
  if (holder === undefined) return false;
  const [pid, host, , at] = holder.split(' ');
  if (Date.now() - Number(at) > STALE_LOCK_MS) return true;
  const info = await lstat(path).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
  return host === HOST && !isAlive(Number(pid));
}

/**
 * Runs `change` holding `<path>.lock`: a symbolic link whose target is this holder's text, made in
 * one system call that fails if the lock exists, so a kill never leaves a lock that names no
 * process (a lock file written after its creation could be empty). Three calls a locked change,
 * where a written, hard-linked lock file took seven.
 */
async function withFileLock<T>(path: string, change: () => Promise<T>): Promise<T> {
  const lock = `${path}${LOCK_SUFFIX}`;
  temporaries += 1;
  const token = `${process.pid} ${HOST} ${PROCESS_TAG}${temporaries.toString(16)} ${Date.now()}`;
  const started = Date.now();
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      await symlink(token, lock);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') await mkdir(dirname(lock), { recursive: true });
      else if (code !== 'EEXIST') throw error;
      else {
        const holder = await readLock(lock);
        if (await isStaleLock(lock, holder)) await breakLock(lock, holder!);
        else if (Date.now() - started > LOCK_WAIT_MS) {
          throw new Error(`lake file ${path} stayed locked by another process for ${LOCK_WAIT_MS / 1000} s (${lock})`);
        } else await sleep(wait);
      }
    }
  }
  try {
    return await change();
  } finally {
    await removeFile(lock);
  }
}

/**
 * Moves a stale lock aside, atomically. Another process may have broken it and taken a new lock in
 * between: if what was moved is not the stale holder, it goes back (unless a third took the name).
 */
async function breakLock(lock: string, staleHolder: string): Promise<void> {
  const aside = `${lock}.${randomBytes(6).toString('hex')}${BROKEN_LOCK_SUFFIX}`;
  try {
    await rename(lock, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readLock(aside);
  if (moved !== undefined && moved !== staleHolder) await symlink(moved, lock).catch(() => undefined);
  await removeFile(aside);
}
