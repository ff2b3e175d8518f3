import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { InvalidInputError } from '#shared/errors.ts';

/**
 * Strict `parseArgs` over flags only (no positionals). An unknown flag or a missing value
 * becomes one InvalidInputError line; the full parseArgs error stays as its `cause`.
 */
export function parseFlags<const T extends ParseArgsOptionsConfig>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (error) {
    throw new InvalidInputError(firstLine(error), { cause: error });
  }
}

/** Options of string-valued flags, by name: `stringFlags('from', 'to')`. */
export function stringFlags<const K extends string>(...names: K[]): Record<K, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<K, { type: 'string' }>;
}

/** `--flag` as a whole number from min to max, or one InvalidInputError line naming the flag. */
export function integerFlag(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new InvalidInputError(`--${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
}

/** `--flag` as an http(s) URL without trailing slashes, or one InvalidInputError line naming the flag. */
export function urlFlag(flag: string, text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw new InvalidInputError(`--${flag} must be an http(s) URL, got "${text}"`);
  }
  return text.replace(/\/+$/, '');
}
