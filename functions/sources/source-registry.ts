import type { SourceInfo } from './archive-source.ts';
import { V2_SOURCE } from './v2/v2-source-info.ts';
import { V36_SOURCE } from './v36/v36-source-info.ts';

/** Every source by its `--source` / `source` config name: the one place a new source is listed. */
export const SOURCE_INFO = { v2: V2_SOURCE, 'v3.6': V36_SOURCE } as const satisfies Record<string, SourceInfo>;

export type SourceName = keyof typeof SOURCE_INFO;
