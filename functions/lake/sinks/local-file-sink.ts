import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { isSupersededBy, type LakeSink, type ObjectContentType, type Writer } from './lake-sink.ts';

const PARTIAL_SUFFIX = '.partial';

/**
 * Writes lake files into a folder. Each file is written under a temporary name in
 * the same folder and renamed into place, so a crash or Ctrl-C leaves at most a
 * `*.partial` file that no reader globbing `*.json.gz` ever picks up.
 */
export class LocalFileSink implements LakeSink {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  // A file has no content type: the extension says it all.
  async put(key: string, body: Uint8Array, _contentType?: ObjectContentType): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
    try {
      await writeFile(partial, body);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async putIfAbsent(key: string, body: Uint8Array, _contentType?: ObjectContentType): Promise<boolean> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, body, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /**
   * In-process compare-and-swap: writes of one key are serialized and the last writer of each key
   * is remembered, so one process (the CLI, tests of the queued path) never lets an older attempt
   * replace a newer one. Separate processes writing one folder are not coordinated.
   */
  async putUnlessSuperseded(
    key: string,
    body: Uint8Array,
    contentType: ObjectContentType,
    writer: Writer,
  ): Promise<boolean> {
    const previous = this.keyLocks.get(key) ?? Promise.resolve();
    const write = previous.then(async () => {
      if (isSupersededBy(writer, this.writers.get(key))) return false;
      await this.put(key, body, contentType);
      this.writers.set(key, writer);
      return true;
    });
    const settled = write.catch(() => undefined);
    this.keyLocks.set(key, settled);
    void settled.then(() => {
      if (this.keyLocks.get(key) === settled) this.keyLocks.delete(key);
    });
    return write;
  }

  private readonly writers = new Map<string, Writer>();
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const folder = prefix.endsWith('/') ? prefix : prefix.slice(0, prefix.lastIndexOf('/') + 1);
    let entries;
    try {
      entries = await readdir(this.pathOf(folder || '.'), { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries
      .filter((entry) => entry.isFile() && !entry.name.endsWith(PARTIAL_SUFFIX))
      .map((entry) =>
        join(entry.parentPath, entry.name)
          .slice(this.location.length + 1)
          .split(sep)
          .join('/'),
      )
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })));
  }

  private pathOf(key: string): string {
    const path = resolve(this.location, key);
    if (path !== this.location && !path.startsWith(this.location + sep)) {
      throw new Error(`lake key escapes the lake folder: ${key}`);
    }
    return path;
  }
}
