import type { Mistyped } from '#lake/mistyped-values.ts';
import { FILE_STATUSES, type FileStatus } from '#shared/file-refs.ts';
import type { ChatWritten, UnitContinued, UnitStep, UnitWritten } from '#sources/archive-source.ts';
import type { FilesArchived } from './archive-files.ts';

export interface DayPlanned {
  kind: 'day-planned';
  day: string;
  attempt: number;
  total: number;
  pages: number;
  /** v2: page 1, written from the planning request. */
  firstPage?: { chats: number; dropped: number; bytes: number };
  /** Fields of page 1's chats the table has no column for (names only). */
  unknownFields?: string[];
  /** Page 1's values that do not fit their column's type, kept in `_mistyped`. */
  mistyped?: Mistyped;
  /** Why this plan cannot archive the whole day (v2: above the 25 000-record cap). */
  incomplete?: string;
}

export type QueuedTaskResult =
  | DayPlanned
  | UnitWritten
  | UnitContinued
  | ChatWritten
  | FilesArchived
  /** A files task delivered after attachments were turned off. */
  | { kind: 'files-skipped'; day: string; files: number }
  | {
      kind: 'drift';
      day: string;
      /** The v2 page, or 0 for a v3.6 slice (then `slice` names it). */
      page: number;
      slice?: string;
      attempt: number;
      reason: string;
      next: 'replanned' | 'already-replanned' | 'gave-up';
    }
  | {
      /** Every unit of a pass was written and the day's partition merged (one version per chat). */
      kind: 'day-settled';
      day: string;
      attempt: number;
      /** Chats the day holds. */
      chats: number;
      /** Distinct chats the pass fetched. */
      fetched: number;
      /** Chats kept that the pass did not return (LiveChat no longer lists them). */
      kept: number;
      /** Files the day's chats point to, queued in files tasks (attachments on). */
      files?: number;
    };

/** What a result is worth telling the operator: counters to publish and one log line. */
export interface ResultReport {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  counts: Record<string, number>;
}

export function reportOf(result: QueuedTaskResult): ResultReport {
  return withMistyped(result, withUnknownFields(result, baseReport(result)));
}

function withUnknownFields(result: QueuedTaskResult, report: ResultReport): ResultReport {
  if (
    result.kind === 'drift' ||
    result.kind === 'day-settled' ||
    result.kind === 'slice-continued' ||
    result.kind === 'chat-written' ||
    result.kind === 'files-archived' ||
    result.kind === 'files-skipped'
  ) {
    return report;
  }
  if (!result.unknownFields?.length) return report;
  // The chats are in the lake verbatim; the operator should extend the table (names only, never values).
  return {
    level: report.level === 'error' ? 'error' : 'warn',
    message: `${report.message}; chat fields the table has no column for: ${result.unknownFields.join(', ')}`,
    counts: { ...report.counts, UnknownFields: result.unknownFields.length },
  };
}

/** Type drift: the values are kept in `_mistyped` and every query still reads the day (SchemaViolations alarm). */
function withMistyped(result: QueuedTaskResult, report: ResultReport): ResultReport {
  if (result.kind === 'drift' || result.kind === 'day-settled' || result.kind === 'files-archived') return report;
  if (result.kind === 'files-skipped' || !result.mistyped?.values) return report;
  return {
    level: report.level === 'error' ? 'error' : 'warn',
    message: `${report.message}; values that do not fit their column's type, kept in _mistyped: ${result.mistyped.fields.join(', ')}`,
    counts: { ...report.counts, SchemaViolations: result.mistyped.values },
  };
}

/** Metric names of file statuses: FilesStored, FilesGone, FilesTooLarge, FilesRefusedHost, FilesFailed. */
export const FILE_STATUS_METRICS: Record<FileStatus, string> = {
  stored: 'FilesStored',
  gone: 'FilesGone',
  too_large: 'FilesTooLarge',
  refused_host: 'FilesRefusedHost',
  failed: 'FilesFailed',
};

function baseReport(result: QueuedTaskResult): ResultReport {
  switch (result.kind) {
    case 'files-archived': {
      const counts: Record<string, number> = { FilesDownloaded: result.counts.downloaded };
      for (const status of FILE_STATUSES) {
        if (result.counts[status] > 0) counts[FILE_STATUS_METRICS[status]] = result.counts[status];
      }
      if (result.counts.bytes > 0) counts['FileBytesStored'] = result.counts.bytes;
      if (result.unverified) counts['FilesUnverified'] = result.unverified;
      const notStored = FILE_STATUSES.filter((status) => status !== 'stored' && result.counts[status] > 0);
      const message = notStored.length
        ? `files archived; not stored: ${notStored.map((status) => `${result.counts[status]} ${status}`).join(', ')}`
        : 'files archived';
      return {
        // A missing or refused file does not fail the run; failures after retries are worth a look.
        level: result.counts.failed > 0 || result.unverified ? 'warn' : 'info',
        message: result.unverified
          ? `${message}; ${result.unverified} objects of chats a visitor erasure may concern kept unchecked: the day was compacted and the worker cannot read Parquet (docs/attachments.md)`
          : message,
        counts,
      };
    }
    case 'files-skipped':
      return { level: 'warn', message: 'files task skipped: attachments are off', counts: {} };
    case 'day-settled':
      return {
        level: 'info',
        message:
          result.kept > 0
            ? `day settled: ${result.kept} archived chats kept that LiveChat no longer returned`
            : 'day settled',
        counts: { DaysSettled: 1, ...(result.kept > 0 ? { ChatsKept: result.kept } : {}) },
      };
    case 'day-planned': {
      const counts: Record<string, number> = result.firstPage
        ? { PagesArchived: 1, ChatsArchived: result.firstPage.chats, ...dropped(result.firstPage.dropped) }
        : {};
      return result.incomplete
        ? {
            level: 'error',
            message: `day planned incomplete: ${result.incomplete}`,
            counts: { ...counts, DaysIncomplete: 1 },
          }
        : { level: 'info', message: 'day planned', counts };
    }
    case 'page-written':
      return {
        level: 'debug',
        message: 'page written',
        counts: { PagesArchived: 1, ChatsArchived: result.chats, ...dropped(result.dropped) },
      };
    case 'slice-written':
      // Counted per task: a slice read by several tasks counted its earlier pages with them.
      return { level: 'debug', message: 'slice written', counts: stepCounts(result.step ?? result) };
    case 'slice-continued':
      return { level: 'debug', message: 'slice pages written, the rest queued', counts: stepCounts(result) };
    case 'chat-written':
      return {
        level: 'debug',
        message: result.chats ? 'webhook chat written' : 'webhook chat not written (erased visitor or no transcript)',
        counts: {
          WebhookChatsArchived: result.chats,
          ...dropped(result.dropped),
          ...(result.endToLakeSeconds === undefined ? {} : { WebhookEndToLakeSeconds: result.endToLakeSeconds }),
        },
      };
    case 'drift':
      return result.next === 'gave-up'
        ? {
            level: 'error',
            message: 'day keeps changing: left incomplete after the last attempt',
            counts: { DriftDetected: 1, DaysIncomplete: 1 },
          }
        : { level: 'warn', message: 'drift: day will be archived again', counts: { DriftDetected: 1 } };
  }
}

function stepCounts(step: UnitStep): Record<string, number> {
  return {
    PagesArchived: step.parts,
    ChatsArchived: step.chats,
    ...dropped(step.dropped),
    ...(step.cursorRestarts > 0 ? { CursorRestarts: step.cursorRestarts } : {}),
  };
}

/** Chats of erased visitors not written: counted only when there were some. */
function dropped(count: number): Record<string, number> {
  return count > 0 ? { ChatsDropped: count } : {};
}
