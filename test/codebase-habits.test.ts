import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const sourceFiles = ['functions', 'lib', 'bin', 'bench', 'test'].flatMap((dir) =>
  readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name)),
);

/** Each handler bundled once, as NodejsFunction bundles it (ESM, node24, AWS SDK external). */
const bundles = new Map<string, ReturnType<typeof bundle>>();
function bundle(entry: string) {
  return build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: ['@aws-sdk/*'],
    metafile: true,
    logLevel: 'silent',
  });
}
function bundleHandler(entry: string): ReturnType<typeof bundle> {
  if (!bundles.has(entry)) bundles.set(entry, bundle(entry));
  return bundles.get(entry)!;
}

/** Every module of functions/ and the modules of functions/ it imports (relative paths and `#alias/*`, type imports too). */
function importGraph(): Map<string, string[]> {
  const aliases = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { imports: Record<string, string> })
    .imports;
  const resolveImport = (from: string, specifier: string): string | undefined => {
    if (specifier.startsWith('.')) return resolve(dirname(from), specifier);
    const alias = Object.entries(aliases).find(([name]) => specifier.startsWith(name.replace('*', '')));
    return alias ? join(root, alias[1].replace('*', specifier.slice(alias[0].length - 1))) : undefined;
  };
  const modules = sourceFiles.filter((file) => relative(root, file).startsWith('functions/'));
  return new Map(
    modules.map((file) => {
      const text = readFileSync(file, 'utf8');
      const specifiers = [
        ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g),
      ].map((match) => match[1] ?? match[2]!);
      const targets = specifiers
        .map((specifier) => resolveImport(file, specifier))
        .filter((target): target is string => target !== undefined && modules.includes(target));
      return [file, [...new Set(targets)]];
    }),
  );
}

/** The import cycles of a graph, each as the modules along it (first module repeated at the end). */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: string): void => {
    const at = path.indexOf(module);
    if (at >= 0) {
      cycles.push([...path.slice(at), module]);
      return;
    }
    if (done.has(module)) return;
    path.push(module);
    for (const next of graph.get(module) ?? []) visit(next);
    path.pop();
    done.add(module);
  };
  for (const module of graph.keys()) visit(module);
  return cycles;
}

describe('codebase habits', () => {
  it('finds import cycles (the checker itself works)', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      cyclesOf(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no import cycle anywhere in functions/', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(join(root, 'functions/handlers/worker.ts'))!.length).toBeGreaterThan(3);
    expect(cyclesOf(graph).map((cycle) => cycle.map((file) => relative(root, file)).join(' → '))).toEqual([]);
  });

  it('keeps the Lambda handlers at 60 lines or fewer', () => {
    for (const handler of [
      'functions/handlers/planner.ts',
      'functions/handlers/worker.ts',
      'functions/handlers/webhook-receiver.ts',
    ]) {
      const lines = readFileSync(join(root, handler), 'utf8').trimEnd().split('\n').length;
      expect(lines, handler).toBeLessThanOrEqual(60);
    }
  });

  it('reaches other folders through package.json imports aliases, never a path climbing two levels', () => {
    const climbing = sourceFiles.filter((file) =>
      /from '\.\.\/\.\.\/|import\('\.\.\/\.\.\//.test(readFileSync(file, 'utf8')),
    );
    expect(climbing.map((file) => relative(root, file))).toEqual([]);
  });

  it('lets the pipeline and the handlers hold a source only through the seam, never asking which one', () => {
    const pipeline = sourceFiles.filter((file) => relative(root, file).startsWith('functions/pipeline/'));
    const sourceImports = pipeline.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/from '(#sources\/[^']+)'/g)].map((match) => match[1]),
    );
    expect(new Set(sourceImports)).toEqual(new Set(['#sources/archive-source.ts']));
    for (const file of [
      ...pipeline,
      join(root, 'functions/handlers/planner.ts'),
      join(root, 'functions/handlers/worker.ts'),
    ]) {
      expect(readFileSync(file, 'utf8'), relative(root, file)).not.toMatch(/['"]v3\.6['"]|['"]v2['"]/);
    }
  });

  it('bundles one copy of Powertools commons: every @aws-lambda-powertools package pinned to one version', async () => {
    const entry = 'functions/handlers/worker.ts';
    const result = await bundleHandler(entry);
    const commonsCopies = new Set(
      Object.keys(result.metafile.inputs)
        .map((input) => /^(.*node_modules\/@aws-lambda-powertools\/commons)\//.exec(input)?.[1])
        .filter((dir) => dir !== undefined),
    );
    // One copy; its path is relative to the working directory (a worktree's node_modules may be a symlink).
    expect([...commonsCopies]).toEqual([expect.stringMatching(/(^|\/)node_modules\/@aws-lambda-powertools\/commons$/)]);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const versions = Object.entries(manifest.dependencies)
      .filter(([name]) => name.startsWith('@aws-lambda-powertools/'))
      .map(([, version]) => version);
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions).size, 'one exact Powertools version').toBe(1);
    expect(versions[0]).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('every error class in a Lambda bundle names itself, so the minifier (no keepNames) cannot rename what the logs say', async () => {
    const classes: string[] = [];
    for (const entry of [
      'functions/handlers/planner.ts',
      'functions/handlers/worker.ts',
      'functions/handlers/webhook-receiver.ts',
      'functions/handlers/compactor.ts',
    ]) {
      const inputs = Object.keys((await bundleHandler(entry)).metafile.inputs).filter((input) =>
        input.startsWith('functions/'),
      );
      for (const input of inputs) {
        const text = readFileSync(join(root, input), 'utf8');
        for (const match of text.matchAll(/class (\w+) extends \w*Error \{\n([\s\S]*?)\n\}/g)) {
          const [, name, body] = match;
          classes.push(name!);
          expect(body, `${input}: ${name}`).toMatch(new RegExp(`(override name = |this\\.name = )'${name}';`));
        }
      }
    }
    expect(classes).toEqual(
      expect.arrayContaining(['LivechatAuthError', 'InvalidInputError', 'CredentialsNotSetError']),
    );
  });

  it('bundles each handler through the aliases with esbuild, importing nothing but the AWS SDK and node built-ins', async () => {
    for (const entry of [
      'functions/handlers/planner.ts',
      'functions/handlers/worker.ts',
      'functions/handlers/webhook-receiver.ts',
    ]) {
      const result = await bundleHandler(entry);
      const bare = Object.values(result.metafile.outputs)
        .flatMap((output) => output.imports)
        .filter((imported) => imported.external)
        .map((imported) => imported.path)
        .filter((path) => !path.startsWith('@aws-sdk/') && !builtinModules.includes(path.replace(/^node:/, '')));
      expect(bare, entry).toEqual([]);
    }
  });
});
