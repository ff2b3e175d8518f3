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
