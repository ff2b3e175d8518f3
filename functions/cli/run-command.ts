import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError } from '#shared/errors.ts';

/**
 * Parses a command's arguments; a bad argument prints `error: …` and the usage to stderr and
 * returns undefined (the command then exits with its usage code). Other errors propagate.
 */
export function argsOrUsage<A>(parse: () => A, usage: string, stderr: NodeJS.WritableStream): A | undefined {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    stderr.write(`error: ${error.message}\n${usage}\n`);
    return undefined;
  }
}

/** `--help` or `-h` anywhere among the arguments: the command prints its usage and exits 0. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * A lake folder a command reads or changes (erase, prune, report): it must exist and be a
 * folder, so a mistyped path is refused instead of looking like an empty lake.
 */
export function existingFolder(dir: string, flag: string): void {
  const kind = kindOf(dir);
  if (kind === 'missing') {
    throw new InvalidInputError(`${flag} ${dir}: no such folder (${resolve(dir)}); check the path`);
  }
  if (kind !== 'folder') throw new InvalidInputError(`${flag} ${dir} is ${kind}, not a folder`);
}

/** A folder a command creates if needed (archive's lake, report's output): nothing in the way may be a file. */
export function creatableFolder(dir: string, flag: string): void {
  const kind = kindOf(dir);
  if (kind !== 'folder' && kind !== 'missing') throw new InvalidInputError(`${flag} ${dir} is ${kind}, not a folder`);
}

function kindOf(path: string): 'folder' | 'missing' | 'a file' | 'inside a file' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'a file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'inside a file';
    throw error;
  }
}
