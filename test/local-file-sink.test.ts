import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';

async function sinkInTemp() {
  const dir = await mkdtemp(join(tmpdir(), 'lake-'));
  return { dir, sink: new LocalFileSink(dir) };
}

describe('LocalFileSink', () => {
  it('writes files under their key and overwrites them in place', async () => {
    const { dir, sink } = await sinkInTemp();
    await sink.put('chats/dt=2026-01-01/page-00001.json.gz', Buffer.from('one'), 'ndjson-gzip');
    await sink.put('chats/dt=2026-01-01/page-00001.json.gz', Buffer.from('two'), 'ndjson-gzip');
    expect(await readFile(join(dir, 'chats/dt=2026-01-01/page-00001.json.gz'), 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'chats/dt=2026-01-01'))).toEqual(['page-00001.json.gz']);
  });

  it('lists complete files only, never partial ones', async () => {
    const { dir, sink } = await sinkInTemp();
    await sink.put('chats/dt=2026-01-01/page-00002.json.gz', Buffer.from('x'), 'ndjson-gzip');
    await mkdir(join(dir, 'chats/dt=2026-01-02'), { recursive: true });
    await writeFile(join(dir, 'chats/dt=2026-01-02/page-00001.json.gz.abc123.partial'), 'half');
    expect(await sink.list('chats/')).toEqual(['chats/dt=2026-01-01/page-00002.json.gz']);
    expect(await sink.list('chats/dt=2026-01-02/')).toEqual([]);
    expect(await sink.list('nothing/here/')).toEqual([]);
  });

  it('leaves no file behind when a write fails', async () => {
    const { dir, sink } = await sinkInTemp();
    await mkdir(join(dir, 'chats/dt=2026-01-01/page-00001.json.gz'), { recursive: true }); // a folder where the file goes
    await expect(sink.put('chats/dt=2026-01-01/page-00001.json.gz', Buffer.from('x'), 'ndjson-gzip')).rejects.toThrow();
    const left = await readdir(join(dir, 'chats/dt=2026-01-01'));
    expect(left.filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('lists a folder that appeared after a listing found it missing (nothing about a missing folder is remembered)', async () => {
    const { sink } = await sinkInTemp();
    expect(await sink.list('manifests/erasures/')).toEqual([]);
    await sink.put('manifests/erasures/visitor-abc.json', Buffer.from('{}'), 'json');
    expect(await sink.list('manifests/erasures/')).toEqual(['manifests/erasures/visitor-abc.json']);
    await sink.delete(['manifests/erasures/visitor-abc.json']);
    expect(await sink.list('manifests/erasures/')).toEqual([]);
  });

  it('deletes, creates only-if-absent, and refuses keys outside the lake', async () => {
    const { sink } = await sinkInTemp();
    expect(await sink.putIfAbsent('manifests/claim.json', Buffer.from('{}'), 'json')).toBe(true);
    expect(await sink.putIfAbsent('manifests/claim.json', Buffer.from('{}'), 'json')).toBe(false);
    await sink.delete(['manifests/claim.json', 'manifests/missing.json']);
    expect(await sink.list('manifests/')).toEqual([]);
    await expect(sink.put('../escape.json', Buffer.from('x'), 'json')).rejects.toThrow(/escapes the lake folder/);
  });

  it('reads a whole file back, undefined when there is none', async () => {
    const { sink } = await sinkInTemp();
    await sink.put('manifests/erasures/salt.json', Buffer.from('{"salt":"x"}'), 'json');
    expect(Buffer.from((await sink.get('manifests/erasures/salt.json'))!).toString()).toBe('{"salt":"x"}');
    expect(await sink.get('manifests/none.json')).toBeUndefined();
  });

  it('replaces an existing file only under its lock, while a new file is linked in without one', async () => {
    const { dir, sink } = await sinkInTemp();
    const key = 'manifests/day-plans/plan.json';
    await sink.put(key, Buffer.from('old'), 'json');
    // A live holder (this process) of the file's lock, as an erase's compare-and-swap holds it.
    const lock = join(dir, `${key}.lock`);
    await writeFile(lock, `${process.pid} ${hostname()} test ${Date.now()}`);
    let replaced = false;
    const replacing = sink.put(key, Buffer.from('new'), 'json').then(() => (replaced = true));
    await sink.put('manifests/day-plans/other.json', Buffer.from('x'), 'json');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(replaced).toBe(false);
    expect(await readFile(join(dir, key), 'utf8')).toBe('old');
    await unlink(lock);
    await replacing;
    expect(await readFile(join(dir, key), 'utf8')).toBe('new');
    expect((await readdir(join(dir, 'manifests/day-plans'))).sort()).toEqual(['other.json', 'plan.json']);
  });

  it('respects a live lock held as a symbolic link, and leaves no lock behind its own changes', async () => {
    const { dir, sink } = await sinkInTemp();
    const key = 'manifests/day-plans/plan.json';
    await sink.put(key, Buffer.from('old'), 'json');
    const lock = join(dir, `${key}.lock`);
    await symlink(`${process.pid} ${hostname()} test ${Date.now()}`, lock);
    let replaced = false;
    const replacing = sink.put(key, Buffer.from('new'), 'json').then(() => (replaced = true));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(replaced).toBe(false);
    await unlink(lock);
    await replacing;
    for (let round = 0; round < 20; round += 1) await sink.put(key, Buffer.from(`v${round}`), 'json');
    expect(await readFile(join(dir, key), 'utf8')).toBe('v19');
    await sink.delete([key]);
    expect(await readdir(join(dir, 'manifests/day-plans'))).toEqual([]);
  });

  it('breaks the lock of a dead process, as a symbolic link or as the lock file of an earlier version, and removes it as a leftover', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const { dir, sink } = await sinkInTemp();
    const key = 'chats/dt=2026-01-01/page-00001.json.gz';
    await sink.put(key, Buffer.from('old'), 'ndjson-gzip');
    const lock = join(dir, `${key}.lock`);
    await symlink(`${dead} ${hostname()} gone ${Date.now()}`, lock);
    await sink.put(key, Buffer.from('new'), 'ndjson-gzip');
    expect(await readFile(join(dir, key), 'utf8')).toBe('new');

    await writeFile(lock, `${dead} ${hostname()} gone ${Date.now()}`);
    await sink.delete([key]);
    expect(await readdir(join(dir, 'chats/dt=2026-01-01'))).toEqual([]);

    await symlink(`${dead} ${hostname()} gone ${Date.now()}`, lock);
    const live = join(dir, 'chats/dt=2026-01-01/page-00002.json.gz.lock');
    await symlink(`${process.pid} ${hostname()} live ${Date.now()}`, live);
    expect(await sink.removeLeftovers(['chats/'])).toEqual([`${key}.lock`]);
    expect((await lstat(live)).isSymbolicLink()).toBe(true);
  });
});
