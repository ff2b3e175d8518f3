import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';
import type { BenchConfig } from '#bench/support/config.ts';
import { PROJECT_ROOT, runNode } from '#bench/support/processes.ts';
import { kb, median, ms, type Row, type Section } from '#bench/support/report.ts';
import { LAMBDA_BUNDLING } from '#infra/constructs/archiver-functions.ts';

/** Dummy values for what loadPlannerConfig / loadWorkerConfig and Powertools read at cold start (as the CDK sets them for source v2). */
const HANDLER_ENV: Record<string, Record<string, string>> = {
  planner: {
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-pages',
    SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf',
    TIME_ZONE: 'UTC',
    LOOKBACK_DAYS: '3',
    SETTLE_HOURS: '2',
    MAX_RANGE_DAYS: '1200',
    FILTERS: '{}',
    SOURCE: 'v2',
  },
  worker: {
    BUCKET_NAME: 'bench-lake-bucket',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-pages',
    SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf',
    API_URL: 'https://api.livechatinc.com',
    MAX_ATTEMPTS: '5',
    REQUEST_TIMEOUT_MS: '20000',
    REQUEST_BUDGET_MS: '45000',
    SOURCE: 'v2',
  },
};
const COMMON_ENV = {
  AWS_REGION: 'us-east-1',
  POWERTOOLS_SERVICE_NAME: 'livechat-archiver',
  POWERTOOLS_METRICS_NAMESPACE: 'LivechatArchiver',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

/**
 * What-if, for the report only (nothing outside bench/ is changed): the same bundle with
 * `import { z } from 'zod'` rewritten to `import * as z from 'zod'` in functions/ while
 * esbuild loads the files. The `z` re-export of zod's classic API is one namespace object,
 * so esbuild keeps all of it (locales, JSON-schema conversion…); a namespace import lets it
 * drop what is never used.
 */
const zodNamespaceImport: Plugin = {
  name: 'bench-zod-namespace-import',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]functions[\\/].*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll("import { z } from 'zod';", "import * as z from 'zod';"),
      loader: 'ts',
    }));
  },
};

interface BundleFigures {
  name: string;
  variant: 'as-is' | 'zod-namespace';
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  coldMs: number[];
  coldSourceMapsMs: number[];
  topPackages: Array<[string, number]>;
}

/** Groups a metafile output's bytes by npm package (or "project" for our own files). */
function bytesByPackage(metafile: Metafile): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match ? match[1]! : 'project (functions/)';
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]);
}

/** Milliseconds to import a module (or several, together) in a fresh node process. */
async function coldImport(modules: string | readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const list = typeof modules === 'string' ? [modules] : modules;
  const imports = list.map((module) => `import(${JSON.stringify(module)})`).join(', ');
  const code = `const t = performance.now(); await Promise.all([${imports}]); console.log(performance.now() - t);`;
  const run = await runNode(['--input-type=module', '-e', code], { cwd, env, timeoutMs: 30_000 });
  const value = Number(run.stdout.trim().split('\n').at(-1));
  if (run.code !== 0 || !Number.isFinite(value)) {
    throw new Error(`cold import of ${list.join(', ')} failed (code ${run.code}): ${run.stderr.slice(0, 500)}`);
  }
  return value;
}

interface Built {
  outfile: string;
  outDir: string;
  bytes: number;
  gzipBytes: number;
  mapBytes: number;
  metafile: Metafile;
  /** External @aws-sdk/* packages the bundle imports. */
  sdkImports: string[];
}

async function bundleHandler(work: string, name: string, variant: BundleFigures['variant']): Promise<Built> {
  const outDir = join(work, `${name}-${variant}`);
  await mkdir(outDir);
  const outfile = join(outDir, 'index.mjs');
  const result = await build({
    entryPoints: [join(PROJECT_ROOT, 'functions', 'handlers', `${name}.ts`)],
    bundle: true,
    target: LAMBDA_BUNDLING.target,
    platform: 'node',
    format: LAMBDA_BUNDLING.format,
    outfile,
    minify: LAMBDA_BUNDLING.minify,
    keepNames: LAMBDA_BUNDLING.keepNames,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    external: [...LAMBDA_BUNDLING.externalModules],
    logLevel: 'warning',
    banner: { js: LAMBDA_BUNDLING.banner },
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    metafile: true,
    absWorkingDir: PROJECT_ROOT,
    plugins: variant === 'zod-namespace' ? [zodNamespaceImport] : [],
  });
  const sdkImports = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    // Static imports only: a dynamic import() (the worker's SQS client) loads on first use, not at cold start.
    for (const imported of output.imports) {
      if (imported.external && imported.kind === 'import-statement' && imported.path.startsWith('@aws-sdk/'))
        sdkImports.add(imported.path);
    }
  }
  return {
    outfile,
    outDir,
    bytes: (await stat(outfile)).size,
    mapBytes: (await stat(`${outfile}.map`)).size,
    gzipBytes: gzipSync(readFileSync(outfile)).byteLength,
    metafile: result.metafile,
    sdkImports: [...sdkImports].sort(),
  };
}

/** Minified bundle bytes of one small strict schema written with each zod import style. */
async function zodStyles(): Promise<Record<'binding' | 'namespace' | 'mini', number>> {
  const schema = 'z.object({ id: z.string().min(1), page: z.number().int() }).strict()';
  const sources = {
    binding: `import { z } from 'zod';\nconsole.log(${schema}.parse({ id: 'a', page: 1 }));`,
    namespace: `import * as z from 'zod';\nconsole.log(${schema}.parse({ id: 'a', page: 1 }));`,
    mini: "import * as z from 'zod/mini';\nconsole.log(z.strictObject({ id: z.string().check(z.minLength(1)), page: z.int() }).parse({ id: 'a', page: 1 }));",
  };
  const sizes = { binding: 0, namespace: 0, mini: 0 };
  for (const [style, contents] of Object.entries(sources) as Array<[keyof typeof sources, string]>) {
    const result = await build({
      stdin: { contents, resolveDir: PROJECT_ROOT, loader: 'ts' },
      bundle: true,
      write: false,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      logLevel: 'warning',
    });
    sizes[style] = result.outputFiles[0]!.contents.byteLength;
  }
  return sizes;
}

/** Project files (of a bundle's inputs) that import zod's `z` binding. */
function zodImporters(inputs: readonly string[]): string[] {
  const files = new Set<string>();
  for (const input of inputs) {
    if (input.includes('node_modules') || !input.endsWith('.ts')) continue;
    const text = readFileSync(join(PROJECT_ROOT, input), 'utf8');
    if (/import\s*\{\s*z\s*\}\s*from\s*['"]zod['"]/.test(text)) files.add(input);
  }
  return [...files].sort();
}

/** Bytes of zod in a bundle, and of its locale files alone. */
function zodBytes(metafile: Metafile): { total: number; locales: number } {
  let total = 0;
  let locales = 0;
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (!/node_modules\/zod\//.test(input)) continue;
      total += bytesInOutput;
      if (/\/locales\//.test(input)) locales += bytesInOutput;
    }
  }
  return { total, locales };
}

/** Issue 7 §4: bundle both handlers as the CDK does, size and cold import time. */
export async function lambdaPackage(config: BenchConfig, log: (line: string) => void): Promise<Section> {
  const work = await mkdtemp(join(tmpdir(), 'livechat-bench-lambda-'));
  try {
    // The Lambda runtime provides @aws-sdk/*; here the external imports resolve to the project's node_modules.
    await symlink(join(PROJECT_ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    const figures: Array<BundleFigures & { built: Built; sdkOnlyMs: number[]; zodImporters: string[] }> = [];
    for (const name of ['planner', 'worker'] as const) {
      const env = { PATH: process.env.PATH ?? '', ...COMMON_ENV, ...HANDLER_ENV[name] };
      let importers: string[] = [];
      for (const variant of ['as-is', 'zod-namespace'] as const) {
        // The what-if is only built when some file still imports zod's `z` binding.
        if (variant === 'zod-namespace' && importers.length === 0) continue;
        const built = await bundleHandler(work, name, variant);
        if (variant === 'as-is') importers = zodImporters(Object.keys(built.metafile.inputs));
        const coldMs: number[] = [];
        const coldSourceMapsMs: number[] = [];
        const sdkOnlyMs: number[] = [];
        for (let index = 0; index < config.lambda.coldImports; index += 1) {
          coldMs.push(await coldImport(built.outfile, built.outDir, env));
          if (variant === 'as-is') {
            coldSourceMapsMs.push(
              await coldImport(built.outfile, built.outDir, { ...env, NODE_OPTIONS: '--enable-source-maps' }),
            );
            sdkOnlyMs.push(await coldImport(built.sdkImports, built.outDir, env));
          }
        }
        figures.push({
          name,
          variant,
          bytes: built.bytes,
          gzipBytes: built.gzipBytes,
          mapBytes: built.mapBytes,
          coldMs,
          coldSourceMapsMs,
          topPackages: bytesByPackage(built.metafile),
          built,
          sdkOnlyMs,
          zodImporters: importers,
        });
        log(`  ${name} (${variant}): ${kb(built.bytes)}, cold import median ${ms(median(coldMs), 1)}`);
      }
    }

    const styles = await zodStyles();
    const rows: Row[] = [];
    const asIs = figures.filter((figure) => figure.variant === 'as-is');
    const whatIf = figures.filter((figure) => figure.variant === 'zod-namespace');
    asIs.forEach((figure, index) => {
      const base = 1 + index * 3;
      const coldMedian = median(figure.coldMs);
      rows.push(
        {
          id: `4.${base}`,
          metric: `functions/handlers/${figure.name}.ts bundle (esbuild as NodejsFunction: ESM, minify, node24, @aws-sdk/* external), index.mjs size`,
          measured: `${kb(figure.bytes)} (${kb(figure.gzipBytes)} gzipped)`,
          target: '≤ 150 KB',
          met: figure.bytes <= 150 * 1024,
        },
        {
          id: `4.${base + 1}`,
          metric: `${figure.name} cold import of the bundle in a fresh node, median of ${figure.coldMs.length}`,
          measured: ms(coldMedian, 1),
          target: '≤ 100 ms',
          met: coldMedian <= 100,
        },
        {
          id: `4.${base + 2}`,
          metric: `${figure.name}: the external ${figure.built.sdkImports.join(' + ')} alone / the bundle with NODE_OPTIONS=--enable-source-maps (as deployed); medians of ${figure.sdkOnlyMs.length} cold imports`,
          measured: `${ms(median(figure.sdkOnlyMs), 1)} / ${ms(median(figure.coldSourceMapsMs), 1)}`,
          target: '—',
          met: undefined,
        },
      );
    });
    whatIf.forEach((figure, index) => {
      rows.push({
        id: `4.${7 + index}`,
        metric: `What-if (not applied): ${figure.name} with \`import * as z from 'zod'\` instead of \`import { z } from 'zod'\` — size / cold import median of ${figure.coldMs.length}`,
        measured: `${kb(figure.bytes)} / ${ms(median(figure.coldMs), 1)}`,
        target: '≤ 150 KB / ≤ 100 ms',
        met: undefined,
      });
    });
    const rowOf = (name: string, offset: number) =>
      `4.${1 + asIs.findIndex((figure) => figure.name === name) * 3 + offset}`;
    const contributors = (figure: (typeof figures)[number], count = 6) =>
      figure.topPackages
        .slice(0, count)
        .map(([name, bytes]) => `${name} ${kb(bytes)}`)
        .join(', ');

    const findings: string[] = [];
    for (const figure of asIs.filter((candidate) => candidate.bytes > 150 * 1024)) {
      const zod = zodBytes(figure.built.metafile);
      const fix = whatIf.find((candidate) => candidate.name === figure.name);
      findings.push(
        figure.zodImporters.length
          ? `**The ${figure.name} bundle is ${kb(figure.bytes)} (target ≤ 150 KB, row ${rowOf(figure.name, 0)}).** Cause: \`import { z } from 'zod'\` in ${figure.zodImporters.join(', ')}. zod 4's \`z\` export is a namespace object holding the whole classic API; importing it by name makes esbuild keep all of it: ${kb(zod.total)} of zod, ${kb(zod.locales)} of which are the error messages of every locale. Measured fix (not applied): \`import * as z from 'zod'\` gives ${fix ? kb(fix.bytes) : 'n/a'}; \`zod/mini\` goes further (one small strict schema: ${kb(styles.binding)} as written now, ${kb(styles.namespace)} with the namespace import, ${kb(styles.mini)} with \`zod/mini\`).`
          : `**The ${figure.name} bundle is ${kb(figure.bytes)} (target ≤ 150 KB, row ${rowOf(figure.name, 0)}).** Largest contributors: ${contributors(figure, 8)}. The AWS SDK is already external (the nodejs24.x runtime ships it), and a lazy \`import()\` would not shrink the file: NodejsFunction writes one \`index.mjs\` (no code splitting), so a module imported on first use is still inside it. What is left is code the handler runs: the libraries the project builds on (zod, ky, Powertools) and its own modules; cutting further means a bundle per source or fewer libraries (docs/benchmarks.md).`,
      );
    }
    const slow = asIs.filter((figure) => median(figure.coldMs) > 100);
    if (slow.length) {
      findings.push(
        `**Cold import of ${slow.map((figure) => `${figure.name} ${ms(median(figure.coldMs), 1)}`).join(', ')} (target ≤ 100 ms, row${slow.length > 1 ? 's' : ''} ${slow.map((figure) => rowOf(figure.name, 1)).join(', ')}).** Most of it is the AWS SDK v3 clients the handler imports at module level (external, loaded from node_modules as the Lambda runtime does): ${slow.map((figure) => `${figure.name} ${figure.built.sdkImports.join(' + ')} alone ${ms(median(figure.sdkOnlyMs), 1)}`).join('; ')} (row${slow.length > 1 ? 's' : ''} ${slow.map((figure) => rowOf(figure.name, 2)).join(', ')}), the rest is evaluating the bundle (${slow.map((figure) => `${figure.name}: ${contributors(figure, 3)}`).join('; ')}${whatIf.length ? `; with zod imported as a namespace: ${whatIf.map((figure) => `${figure.name} ${ms(median(figure.coldMs), 1)}`).join(', ')}` : ''}). The worker already loads the SQS client on first use (only day tasks and drift send); S3 and Secrets Manager (through Powertools Parameters) are needed by every batch, so deferring them would only move the time into the first invocation. Left as is: the floor on this machine is the SDK itself. Figures vary by ±20 % between runs on this shared 2-core VM (see the individual runs in §4's notes).`,
      );
    }
    const zodNote = asIs.some((figure) => figure.zodImporters.length)
      ? `zod: ${asIs.map((figure) => `${figure.name} imports \`{ z }\` from 'zod' in ${figure.zodImporters.length} file(s)`).join('; ')}. zod 4's \`z\` is a re-exported namespace object of its whole classic API, so importing the binding keeps all of it in the bundle (locales and JSON-schema conversion included). Rows 4.7–4.8 rebuild the bundles with \`import * as z from 'zod'\` (rewritten while esbuild loads functions/*.ts; the repository is not changed). One small strict schema bundles to ${kb(styles.binding)} written as \`{ z }\`, ${kb(styles.namespace)} with the namespace import, ${kb(styles.mini)} with \`zod/mini\`.`
      : `zod: no file in the bundles imports zod's \`{ z }\` binding any more, so the what-if rows of earlier runs (\`import * as z from 'zod'\`) are not built. For scale, one small strict schema bundles to ${kb(styles.binding)} written as \`import { z } from 'zod'\`, ${kb(styles.namespace)} with \`import * as z from 'zod'\`, ${kb(styles.mini)} with \`zod/mini\`.`;
    return {
      findings,
      title: '4. Lambda package',
      rows,
      notes: [
        `Built with the esbuild API using the options \`NodejsFunction\` gets (\`LAMBDA_BUNDLING\` in \`lib/constructs/archiver-functions.ts\`: \`format: esm\`, \`target: node24\`, \`platform: node\`, \`minify\`, \`keepNames: ${LAMBDA_BUNDLING.keepNames}\`, \`sourcemap\` (separate \`.map\` file), \`external: @aws-sdk/*\`, \`mainFields: module,main\`, the \`createRequire\` banner). Size is the \`index.mjs\` only, without its source map.`,
        ...asIs.map((figure) => {
          const zod = zodBytes(figure.built.metafile);
          return `- ${figure.name}: source map ${kb(figure.mapBytes)}; largest contributors: ${contributors(figure)}; zod ${kb(zod.total)} (locales ${kb(zod.locales)}). Cold import runs (ms): ${figure.coldMs.map((value) => value.toFixed(1)).join(', ')}; with source maps: ${figure.coldSourceMapsMs.map((value) => value.toFixed(1)).join(', ')}; SDK alone: ${figure.sdkOnlyMs.map((value) => value.toFixed(1)).join(', ')}.`;
        }),
        `Cold import: \`node --input-type=module -e "const t = performance.now(); await import('<bundle>'); console.log(performance.now() - t)"\` in a fresh process each time, with the handler's configuration variables set to dummy values (${Object.keys(HANDLER_ENV.planner!).join(', ')} for the planner; ${Object.keys(HANDLER_ENV.worker!).join(', ')} for the worker; plus AWS_REGION and POWERTOOLS_*). The time includes loading the external \`@aws-sdk/*\` packages from node_modules (the Lambda runtime ships them) and the module-level code (config parsing, SDK clients, Powertools). It does not include Lambda's own init (runtime start, code download). "SDK alone" imports only the bundle's external \`@aws-sdk/*\` packages, the same way.`,
        zodNote,
      ],
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
