/**
 * bench/RESULTS.md as a document that several runs write: a full `npm run bench` (every case),
 * `npm run bench -- --only <case>` (one case's rows, problems, notes and time), and the benches
 * that write their own marked section (`bench:day`, `bench:webhooks`, `bench:attachments`).
 * `mergeResults` is pure: the previous file and one run in, the next file out. A run replaces
 * only what it measured; every other section is kept as it was.
 */
import { type MachineFacts, renderTable, type Section, s } from './report.ts';

export interface Timing {
  /** e.g. `3. worker cost`: starts with the section number(s) it timed. */
  label: string;
  ms: number;
}

export interface BenchRun {
  /** The case names of `--only`, or undefined for a full run. */
  only?: readonly string[];
  mode: 'quick' | 'full';
  /** The command as typed, e.g. `npm run bench -- --only compaction`. */
  command: string;
  machine: MachineFacts;
  /** Load average when the run ended. */
  loadAtEnd: string;
  totalMs: number;
  sections: readonly Section[];
  timings: readonly Timing[];
}

const TITLE = '# Benchmark results';
const FIGURES = 'Figures';
const PROBLEMS = 'Problems found';
const MACHINE = 'Machine';
const TIMES = 'Time per section';
const FIGURES_HEADER = ['| # | Metric | Measured | Target | Met |', '|---|---|---|---|---|'];

/** A level-2 section of the file, or a `<!-- name:start -->…<!-- name:end -->` block another bench owns. */
interface Block {
  heading: string;
  lines: string[];
}

interface ParsedResults {
  preamble: string[];
  blocks: Block[];
}

function parse(text: string): ParsedResults {
  const lines = text.replace(/\s+$/, '').split('\n');
  const preamble: string[] = [];
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    const marker = /^<!-- ([\w-]+):start -->$/.exec(line);
    if (marker) {
      const end = lines.indexOf(`<!-- ${marker[1]}:end -->`, index);
      const last = end < 0 ? lines.length - 1 : end;
      blocks.push({ heading: line, lines: lines.slice(index, last + 1) });
      index = last;
    } else if (line.startsWith('## ')) {
      blocks.push({ heading: line.slice(3).trim(), lines: [line] });
    } else if (blocks.length) {
      blocks.at(-1)!.lines.push(line);
    } else {
      preamble.push(line);
    }
  }
  return { preamble, blocks };
}

/** `1. Throughput vs the API bound` → 1; headings that are not a numbered bench section → undefined. */
function sectionNumber(heading: string): number | undefined {
  const match = /^(\d+)\. /.exec(heading);
  return match ? Number(match[1]) : undefined;
}

const trimBlank = (lines: readonly string[]): string[] => {
  let start = 0;
  let end = lines.length;
  while (start < end && !lines[start]!.trim()) start += 1;
  while (end > start && !lines[end - 1]!.trim()) end -= 1;
  return lines.slice(start, end);
};

// --- Figures: one table of every row, kept sorted by row number ---------------------------------

interface FigureRow {
  section: number;
  minor: number;
  met: boolean | undefined;
  line: string;
}

function parseRow(line: string): FigureRow | undefined {
  const match = /^\| (\d+)\.(\d+) \|/.exec(line);
  if (!match) return undefined;
  const cells = line.trimEnd().split('|');
  const met = cells.at(-2)?.trim();
  return {
    section: Number(match[1]),
    minor: Number(match[2]),
    met: met === 'yes' ? true : met === '**no**' ? false : undefined,
    line,
  };
}

function renderFigures(rows: readonly FigureRow[]): string[] {
  const judged = rows.filter((row) => row.met !== undefined);
  const missed = judged.filter((row) => row.met === false);
  return [
    `## ${FIGURES}`,
    '',
    `Benchmarks are not tests: they report figures against targets. ${judged.length - missed.length} of ${judged.length} targets met${missed.length ? ` (missed: ${missed.map((row) => `${row.section}.${row.minor}`).join(', ')})` : ''}; rows with "—" are for information.`,
    '',
    ...FIGURES_HEADER,
    ...rows.map((row) => row.line),
  ];
}

// --- Problems found: numbered items, each tagged with its section (§N) ----------------------------

interface Finding {
  section: number;
  text: string;
}

function parseFindings(lines: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const line of lines) {
    const item = /^\d+\. \(§(\d+)\) (.*)$/.exec(line);
    if (item) findings.push({ section: Number(item[1]), text: item[2]! });
    else if (line.trim() && findings.length && /^\s/.test(line)) findings.at(-1)!.text += `\n${line.trim()}`;
  }
  return findings;
}

function renderProblems(findings: readonly Finding[]): string[] {
  return [
    `## ${PROBLEMS}`,
    '',
    'Causes of the missed targets and other problems, with the measured effect and a suggested fix, each with the section that measured it. The bench does not change code outside `bench/`; "what-if" rows measure a fix without applying it.',
    '',
    ...findings.map(
      (finding, index) => `${index + 1}. (§${finding.section}) ${finding.text.replaceAll('\n', '\n   ')}`,
    ),
  ];
}

// --- Time per section: one line per timed step, replaced by label --------------------------------

const timingLine = (timing: Timing, note: string): string => `- ${timing.label} ${s(timing.ms, 1)}${note}`;
/** `- 1-2. throughput … 96.9 s` → `1-2.`: the sections a line timed, which a new time for them replaces. */
const timedSections = (line: string): string => /^- ([\d-]+\.)/.exec(line)?.[1] ?? line;
const leadingNumber = (line: string): number => Number(/^- (\d+)/.exec(line)?.[1] ?? Number.MAX_SAFE_INTEGER);

// --- The document ---------------------------------------------------------------------------------

function preamble(run: BenchRun): string[] {
  return [
    TITLE,
    '',
    `Produced by \`${run.command}\` — **${run.mode} mode**${run.mode === 'quick' ? ' (smaller sizes, see the notes of each section)' : ''}; the whole run took ${s(run.totalMs, 1)}. A section re-measured later with \`npm run bench -- --only <case>\` says so in its first line; the other benches (\`bench:day\`, \`bench:attachments\`, \`bench:webhooks\`) write their own sections below.`,
  ];
}

function machineBlock(run: BenchRun): string[] {
  const { machine } = run;
  return [
    `## ${MACHINE}`,
    '',
    `- Node: ${machine.node}`,
    `- CPU: ${machine.cpu}`,
    `- Cores: ${machine.cores}`,
    `- Memory: ${machine.memory}`,
    `- OS: ${machine.os}`,
    `- Date: ${machine.date}`,
    `- Load average (1, 5, 15 min): ${machine.load} at the start, ${run.loadAtEnd} at the end (2 cores; the simulator runs in child processes on the same cores)`,
    `- Code: ${machine.code}`,
  ];
}

/** The first line of a section an `--only` run wrote: when, how and on what it was measured. */
function remeasuredLine(run: BenchRun): string {
  const { machine } = run;
  return `_Re-measured by \`${run.command}\` (${run.mode} mode) on ${machine.date}, ${machine.code}, load average ${machine.load} at the start and ${run.loadAtEnd} at the end; not part of the full run the Machine section describes._`;
}

function caseBlock(section: Section, run: BenchRun): Block {
  const lines = [`## ${section.title}`, ''];
  if (run.only) lines.push(remeasuredLine(run), '');
  lines.push(...section.notes);
  return { heading: section.title, lines };
}

/**
 * The next RESULTS.md: `previous` (the file as it is, or '' when there is none) with what `run`
 * measured put in. A full run rewrites the title and Machine; any run replaces the Figures rows,
 * Problems found items, numbered section and Time per section line of each section it measured,
 * and keeps every other row, item, section and line, and the other benches' sections.
 */
export function mergeResults(previous: string, run: BenchRun): string {
  const parsed = parse(previous);
  const measured = new Set(
    run.sections.map((section) => {
      const number = sectionNumber(section.title);
      if (number === undefined) throw new Error(`bench section title must start with its number: "${section.title}"`);
      return number;
    }),
  );
  const find = (heading: string) => parsed.blocks.find((block) => block.heading === heading);

  const rows = (find(FIGURES)?.lines ?? [])
    .map(parseRow)
    .filter((row): row is FigureRow => row !== undefined && !measured.has(row.section));
  for (const section of run.sections) {
    for (const line of renderTable([section]).split('\n').slice(FIGURES_HEADER.length)) rows.push(parseRow(line)!);
  }
  rows.sort((a, b) => a.section - b.section || a.minor - b.minor);

  const findings = parseFindings(find(PROBLEMS)?.lines ?? []).filter((finding) => !measured.has(finding.section));
  for (const section of run.sections) {
    for (const text of section.findings ?? []) findings.push({ section: sectionNumber(section.title)!, text });
  }
  findings.sort((a, b) => a.section - b.section);

  const cases = new Map<number, Block>();
  const others: Block[] = [];
  for (const block of parsed.blocks) {
    const number = block.heading.startsWith('<!--') ? undefined : sectionNumber(block.heading);
    if (number !== undefined) cases.set(number, block);
    else if (![MACHINE, FIGURES, PROBLEMS, TIMES].includes(block.heading)) others.push(block);
  }
  for (const section of run.sections) cases.set(sectionNumber(section.title)!, caseBlock(section, run));

  // Every Time per section list (an older file can hold two): a later line replaces an earlier one.
  const note = run.only ? ` (\`--only\`, ${run.machine.date.slice(0, 10)})` : '';
  const times = new Map<string, string>();
  const timesBlocks = parsed.blocks.filter((block) => block.heading === TIMES);
  for (const line of timesBlocks.flatMap((block) => block.lines)) {
    if (line.startsWith('- ')) times.set(timedSections(line), line);
  }
  for (const timing of run.timings) {
    const line = timingLine(timing, note);
    times.set(timedSections(line), line);
  }
  const timeLines = [...times.values()].sort((a, b) => leadingNumber(a) - leadingNumber(b));

  const machine = find(MACHINE);
  const out: string[][] = [
    run.only && parsed.preamble.some((line) => line.trim()) ? trimBlank(parsed.preamble) : preamble(run),
    run.only && machine ? trimBlank(machine.lines) : machineBlock(run),
    renderFigures(rows),
  ];
  if (findings.length) out.push(renderProblems(findings));
  out.push(...[...cases.entries()].sort(([a], [b]) => a - b).map(([, block]) => trimBlank(block.lines)));
  if (timeLines.length) out.push([`## ${TIMES}`, '', ...timeLines]);
  out.push(...others.map((block) => trimBlank(block.lines)));
  return `${out.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}
