import { RUNS_PREFIX } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { isDayDone, type RunManifest } from './run-manifest.ts';

/** Days an interrupted run finished, which the next run of the same days need not fetch again. */
export interface ResumePoint {
  /** The interrupted run. */
  runId: string;
  /** Days it completed, or took over as complete from the run it resumed. */
  days: string[];
}

/**
 * When the lake's latest local run was interrupted (Ctrl-C), the days it completed (and those
 * it had itself resumed), among `days`; undefined after an ordinary run, which a rerun
 * archives again in full. Run ids sort by their start time (`uniqueRunId`).
 */
export async function resumePoint(sink: LakeSink, days: readonly string[]): Promise<ResumePoint | undefined> {
  const keys = (await sink.list(RUNS_PREFIX)).filter((key) => /\/local-[^/]*\.json$/.test(key));
  const latest = keys.at(-1);
  if (latest === undefined) return undefined;
  const body = await sink.get(latest);
  if (!body) return undefined;
  let manifest: Partial<RunManifest>;
  try {
    manifest = JSON.parse(Buffer.from(body).toString('utf8')) as Partial<RunManifest>;
  } catch {
    return undefined;
  }
  if (manifest.interrupted !== true || typeof manifest.runId !== 'string') return undefined;
  const done = new Set([
    ...(manifest.days ?? []).filter((day) => isDayDone(day.status)).map((day) => day.day),
    ...(manifest.resumed?.days ?? []),
  ]);
  return { runId: manifest.runId, days: days.filter((day) => done.has(day)) };
}
