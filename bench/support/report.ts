import { execFileSync } from 'node:child_process';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';

/** One figure against its target. `met` is undefined for figures reported for information only. */
export interface Row {
  id: string;
  metric: string;
  measured: string;
  target: string;
  met: boolean | undefined;
}

export interface Section {
  title: string;
  rows: Row[];
  /** Markdown lines explaining how the figures were obtained and what they mean. */
  notes: string[];
  /** Missed targets and problems: cause, measured effect, suggested fix (code outside bench/ is not changed). */
  findings?: string[];
}

export interface MachineFacts {
  node: string;
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  date: string;
  /** Load average (1, 5, 15 min) when the run started; other work on the machine skews timings. */
  load: string;
  /** The code measured: commit, and files changed outside bench/ but not committed. */
  code: string;
}

export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');
}

function codeState(cwd: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '.', ':(exclude)bench'], {
      cwd,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => line.slice(3));
    return dirty.length
      ? `commit ${commit} + uncommitted changes in ${dirty.join(', ')}`
      : `commit ${commit} (clean outside bench/)`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export function machineFacts(projectRoot: string): MachineFacts {
  const cpuList = cpus();
  return {
    node: process.version,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${platform()} ${release()} ${arch()}`,
    date: new Date().toISOString(),
    load: loadAverage(),
    code: codeState(projectRoot),
  };
}

export const ms = (value: number, digits = 0): string => `${value.toFixed(digits)} ms`;
export const s = (valueMs: number, digits = 2): string => `${(valueMs / 1000).toFixed(digits)} s`;
export const kb = (bytes: number, digits = 1): string => `${(bytes / 1024).toFixed(digits)} KB`;
export const mb = (bytes: number, digits = 1): string => `${(bytes / 2 ** 20).toFixed(digits)} MB`;
export const pct = (ratio: number, digits = 1): string => `${(ratio * 100).toFixed(digits)} %`;
export const times = (ratio: number, digits = 2): string => `${ratio.toFixed(digits)} ×`;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function metText(met: boolean | undefined): string {
  return met === undefined ? '—' : met ? 'yes' : '**no**';
}

export function renderTable(sections: readonly Section[]): string {
  const lines = ['| # | Metric | Measured | Target | Met |', '|---|---|---|---|---|'];
  for (const section of sections) {
    for (const row of section.rows) {
      lines.push(`| ${row.id} | ${row.metric} | ${row.measured} | ${row.target} | ${metText(row.met)} |`);
    }
  }
  return lines.join('\n');
}
