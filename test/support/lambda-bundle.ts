import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, vi } from 'vitest';
import { LAMBDA_BUNDLING } from '#infra/constructs/archiver-functions.ts';

const root = new URL('../..', import.meta.url).pathname;

/**
 * A handler bundled as the construct bundles it for Lambda (LAMBDA_BUNDLING: ESM, node24, minified,
 * `@aws-sdk/*` external), so tests run what ships.
 */
export async function bundleHandler(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    write: false,
    platform: 'node',
    format: LAMBDA_BUNDLING.format,
    target: LAMBDA_BUNDLING.target,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    banner: { js: LAMBDA_BUNDLING.banner },
    minify: LAMBDA_BUNDLING.minify,
    keepNames: LAMBDA_BUNDLING.keepNames,
    external: [...LAMBDA_BUNDLING.externalModules],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/**
 * Writes a bundle into `dir` and imports its `handler`. `dir` must be inside the repository, so the
 * bundle's `@aws-sdk/*` imports resolve to the clients aws-sdk-client-mock has mocked.
 */
export async function importBundledHandler<H>(text: string, dir: string, fileName: string): Promise<H> {
  const file = join(dir, fileName);
  writeFileSync(file, text);
  return ((await import(pathToFileURL(file).href)) as { handler: H }).handler;
}

/**
 * A bundled handler (bundleHandler) for a test file: in beforeAll, registered after the file's own
 * (which stubs the environment the handler reads when it is imported), it bundles `entry`, writes
 * it as `fileName` into a fresh folder under `dir` (repository-relative) and imports it; afterAll
 * removes the folder and the stubbed environment. `handler` is set once beforeAll has run;
 * `inspect` sees the bundle's text first.
 */
export function useBundledHandler<H>(
  entry: string,
  dir: string,
  fileName: string,
  inspect: (text: string) => void = () => {},
): { handler: H } {
  const bundled = {} as { handler: H };
  let outDir: string | undefined;
  beforeAll(async () => {
    const text = await bundleHandler(entry);
    inspect(text);
    outDir = mkdtempSync(join(root, dir, '.bundle-'));
    bundled.handler = await importBundledHandler<H>(text, outDir, fileName);
  }, 60_000);
  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
    vi.unstubAllEnvs();
  });
  return bundled;
}
