import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TIME_ZONE_RECORD_PREFIX, timeZoneOfRecord, timeZoneRecordKey } from '#lake/lake-layout.ts';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { type CheckResult, failed, ok } from './check-result.ts';

/** The lake a run would write: read through its sink (never written), and its folder when local. */
export interface LakeUnderCheck {
  sink: LakeSink;
  /** A local lake's folder: checked for write permission without writing. */
  folder?: string;
}

/**
 * The `lake` check: the lake can be read (a LIST of its time-zone records), a local folder can
 * be written (permission only: nothing is created), and the zone it records is the run's.
 */
export async function lakeCheck(lake: LakeUnderCheck, timeZone: string): Promise<CheckResult> {
  let zones: string[];
  try {
    const keys = await lake.sink.list(TIME_ZONE_RECORD_PREFIX);
    zones = keys.map(timeZoneOfRecord).filter((zone): zone is string => zone !== undefined);
  } catch (error) {
    return failed(
      'lake',
      `${lake.sink.location} cannot be read: ${errorLine(error)}`,
      'check the bucket name and that these AWS credentials may list and write it',
    );
  }
  const writable = lake.folder === undefined ? undefined : await folderProblem(lake.folder);
  if (writable) return failed('lake', `${lake.sink.location}: ${writable}`, 'choose another --out folder');

  const other = zones.filter((zone) => zone !== timeZone);
  if (other.length > 0) {
    return failed(
      'lake',
      `${lake.sink.location} has its days cut in ${other.join(', ')} (${other.map(timeZoneRecordKey).join(', ')}), ` +
        `--time-zone is ${timeZone}: a run would be refused`,
      `run with --time-zone ${other[0]} (cdk.json "timeZone"), or archive into a new lake`,
    );
  }
  const rights = lake.folder === undefined ? 'readable (no write tried)' : 'readable and writable (no write made)';
  return ok(
    'lake',
    zones.length > 0
      ? `${lake.sink.location} ${rights}, days cut in ${timeZone} as recorded`
      : `${lake.sink.location} ${rights}, no zone recorded yet: the first run records ${timeZone}`,
  );
}

/** Why a run could not write into `folder` (or its nearest existing parent), or undefined when it could. */
async function folderProblem(folder: string): Promise<string | undefined> {
  let path = resolve(folder);
  for (;;) {
    const found = await stat(path).catch(() => undefined);
    if (found) {
      if (!found.isDirectory()) return `${path} is not a folder`;
      const canWrite = await access(path, constants.W_OK | constants.X_OK).then(
        () => true,
        () => false,
      );
      return canWrite ? undefined : `${path} is not writable`;
    }
    const parent = dirname(path);
    if (parent === path) return `no existing parent folder of ${folder}`;
    path = parent;
  }
}

function errorLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split('\n')[0]!.slice(0, 200);
}
