/**
 * The Vega runtime (the `vega` package's self-contained minified browser build) as text, to be
 * inlined into the report: the page works from file:// with no network request.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function vegaRuntimeScript(): string {
  if (cached !== undefined) return cached;
  // The package's exports map only exposes its ESM entry; the browser build sits beside it.
  const entry = fileURLToPath(import.meta.resolve('vega'));
  const file = path.join(path.dirname(entry), 'vega.min.js');
  if (!existsSync(file)) throw new Error(`Vega browser build not found at ${file}; run npm ci`);
  const script = readFileSync(file, 'utf8');
  // Inside <script>, these sequences would end the element or change how the HTML parser reads it.
  if (/<\/script|<!--/i.test(script)) throw new Error(`${file} cannot be inlined: it contains </script or <!--`);
  cached = script;
  return script;
}
