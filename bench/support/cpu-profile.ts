import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Self time of a V8 CPU profile (`node --cpu-prof`) summed by what the code does. A sample counts
 * for the first category whose rule matches its stack (innermost frame first), so a JSON.parse
 * called by the settling counts as JSON parsing, and the settling's own code as settling. The
 * profile sees the main thread only: zlib's compression and the file system's system calls run in
 * libuv's thread pool and the kernel, and show in the process's user + system time instead.
 */
export const CATEGORIES = [
  'module loading (tsx, imports)',
  'GC',
  'JSON.parse',
  'JSON encoding (stringify, UTF-8)',
  'gzip / gunzip (main thread)',
  'validation (zod)',
  'type checks (_mistyped, unknown fields)',
  'time zones (Intl)',
  'HTTP client (undici, ky)',
  'folder sink (fs calls)',
  'settling (merge)',
  'files tasks (attachments)',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Rule = [Category, (frame: CallFrame, depth: number) => boolean];

const at = (pattern: RegExp) => (frame: CallFrame) => pattern.test(frame.url);
const named = (pattern: RegExp) => (frame: CallFrame) => pattern.test(frame.functionName);
const builtin = (name: string) => (frame: CallFrame, depth: number) =>
  depth === 0 && frame.url === '' && frame.functionName === name;

/** Checked in order against every frame of a sample's stack, innermost first; the first rule that matches any frame wins. */
const RULES: Rule[] = [
  ['module loading (tsx, imports)', (f) => /tsx|esbuild|node:internal\/modules|loader/.test(f.url)],
  ['JSON.parse', builtin('parse')],
  ['JSON.parse', (f, depth) => depth === 0 && /^(parseJson|rowOf|parse)$/.test(f.functionName) && f.url !== ''],
  ['JSON encoding (stringify, UTF-8)', builtin('stringify')],
  [
    'JSON encoding (stringify, UTF-8)',
    (f, depth) => depth <= 1 && /^(utf8Write|createFromString|fromStringFast|utf8Slice|toString)$/.test(f.functionName),
  ],
  // Each chat's JSON.stringify is inlined into the encoder's callback, and Buffer.byteLength sizes its UTF-8.
  [
    'JSON encoding (stringify, UTF-8)',
    (f, depth) => depth <= 1 && /ndjson-gzip/.test(f.url) && f.functionName !== 'gzipNdjson',
  ],
  ['JSON encoding (stringify, UTF-8)', (f, depth) => depth === 0 && f.functionName === 'byteLength'],
  ['gzip / gunzip (main thread)', at(/node:zlib/)],
  ['time zones (Intl)', (f) => /DateTimeFormat|Intl|time-zone/.test(f.functionName + f.url)],
  ['validation (zod)', at(/\/zod\//)],
  ['type checks (_mistyped, unknown fields)', at(/mistyped-values|chat-columns|lossless-record/)],
  [
    'HTTP client (undici, ky)',
    (f) => /undici|\/ky\/|webstreams|node:net|_http|retrying-api|livechat-client/.test(f.url),
  ],
  ['folder sink (fs calls)', (f) => /node:fs|fs\/promises|internal\/fs|rimraf|local-file-sink/.test(f.url)],
  ['folder sink (fs calls)', named(/^(randomFillSync|randomBytes|hostname|checkError)$/)],
  ['files tasks (attachments)', at(/archive-files|file-refs|attachments\//)],
  ['settling (merge)', at(/day-consolidation|settle-day/)],
];

export type Breakdown = Record<Category, number>;

export function emptyBreakdown(): Breakdown {
  return Object.fromEntries(CATEGORIES.map((category) => [category, 0])) as Breakdown;
}

/** Milliseconds of self time by category (idle and `(program)` left out: they are not the code's work). */
export function categorize(profile: Profile): { busyMs: number; byCategory: Breakdown } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  });
  const byCategory = emptyBreakdown();
  let busyMs = 0;
  for (const [id, us] of selfUs) {
    const top = byId.get(id)!.callFrame.functionName;
    if (top === '(idle)' || top === '(program)') continue;
    const ms = us / 1000;
    busyMs += ms;
    if (top === '(garbage collector)') {
      byCategory.GC += ms;
      continue;
    }
    const stack: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!.callFrame);
    byCategory[categoryOf(stack)] += ms;
  }
  return { busyMs, byCategory };
}

function categoryOf(stack: readonly CallFrame[]): Category {
  for (const [category, matches] of RULES) {
    if (stack.some((frame, depth) => matches(frame, depth))) return category;
  }
  return 'other';
}

/** The one profile `node --cpu-prof --cpu-prof-dir dir` wrote. */
export async function readProfile(dir: string): Promise<Profile> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return JSON.parse(await readFile(join(dir, files[0]!), 'utf8')) as Profile;
}
