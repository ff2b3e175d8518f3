import type { FileRef } from '#shared/file-refs.ts';
import { ndjsonLine } from './ndjson-gzip.ts';

/**
 * One stored line of a table, with what the merge compares (not the parsed record: a busy day's
 * rows would hold every chat twice over). Settling's `Row` adds where it was read from.
 */
export interface WrittenRow {
  line: string;
  id: string;
  /** `_run_id|_archived_at|_page`: the rows one unit wrote of one chat carry the same version in each table. */
  version: string;
  archivedAt: string;
  runId: string;
  page: number;
  stub: boolean;
  /** The files the record points to, when its writer in this process found them (not parsed again for them). */
  refs?: readonly FileRef[];
}

/** What of a table the rows are made with (day-consolidation.ts's `MergedTable`). */
interface RowKeys {
  prefix: string;
  idOf(row: Record<string, unknown>): string | undefined;
  isStub?(row: Record<string, unknown>): boolean;
}

/** A file as this process wrote it: its bytes, and each line with what settling compares of it. */
interface WrittenFile {
  body: Uint8Array;
  table: string;
  rows: WrittenRow[];
  unkeyed: string[];
  /** Bytes of NDJSON text held for the lines (outside the JavaScript heap). */
  bytes: number;
}

/**
 * A row whose line is decoded from the file's NDJSON text only when it is read: settling copies a
 * page whose every chat is kept as it is and never reads its lines, so a day waiting for its
 * settling holds its pages' UTF-8 text outside the heap instead of every line as a string in it.
 */
class TextRow implements WrittenRow {
  refs?: readonly FileRef[];

  constructor(
    private readonly text: Buffer,
    private readonly ends: readonly number[],
    private readonly index: number,
    readonly id: string,
    readonly version: string,
    readonly archivedAt: string,
    readonly runId: string,
    readonly page: number,
    readonly stub: boolean,
  ) {}

  get line(): string {
    return ndjsonLine(this.text, this.ends, this.index);
  }
}

/** The archiver's own fields every line of a chat file ends with (ndjson-gzip.ts appends them as text). */
export interface LineVersion {
  _run_id: string;
  _archived_at: string;
  _page: number;
}

/**
 * What settling needs of the chat files this process wrote, so that a local run settles a day
 * without gunzipping and parsing again every line its page tasks just encoded. Bounded (the oldest
 * files are forgotten first) and checked byte for byte: a file that is not exactly what this
 * process wrote (rewritten by an erase, another writer, a crash) is read from its bytes as before.
 * An entry is used once: settling deletes the file it read.
 */
export class WrittenFiles {
  private readonly files = new Map<string, WrittenFile>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * `records[i]` is the object line `i` of `text` encodes (`ends`: encodeNdjson's), without
   * `version` (appended to every line as text); the table's `idOf` and `isStub` read the API's fields only.
   */
  remember(
    location: string,
    key: string,
    body: Uint8Array,
    table: RowKeys,
    text: Buffer,
    ends: readonly number[],
    records: readonly Record<string, unknown>[],
    version: LineVersion,
    /** The files a record points to (the source's attachments, when they are read from this table). */
    refsOf?: (record: Record<string, unknown>) => FileRef[],
  ): void {
    const name = `${location}\n${key}`;
    this.forget(name);
    if (text.byteLength > this.maxBytes) return;
    const rows: WrittenRow[] = [];
    const unkeyed: string[] = [];
    const versionText = `${version._run_id}|${version._archived_at}|${version._page}`;
    records.forEach((record, index) => {
      const id = table.idOf(record);
      if (id === undefined) {
        unkeyed.push(ndjsonLine(text, ends, index));
        return;
      }
      const row = new TextRow(
        text,
        ends,
        index,
        id,
        versionText,
        version._archived_at,
        version._run_id,
        version._page,
        table.isStub?.(record) ?? false,
      );
      if (refsOf) row.refs = refsOf(record);
      rows.push(row);
    });
    this.files.set(name, { body, table: table.prefix, rows, unkeyed, bytes: text.byteLength });
    this.bytes += text.byteLength;
    for (const [oldest, file] of this.files) {
      if (this.bytes <= this.maxBytes) break;
      this.files.delete(oldest);
      this.bytes -= file.bytes;
    }
  }

  /** The rows of `key` if `body` is byte for byte what this process wrote there for `table`; forgotten either way. */
  take(
    location: string,
    key: string,
    body: Uint8Array,
    table: RowKeys,
  ): { rows: WrittenRow[]; unkeyed: string[] } | undefined {
    const name = `${location}\n${key}`;
    const file = this.files.get(name);
    if (!file) return undefined;
    this.forget(name);
    if (file.table !== table.prefix || !Buffer.from(body.buffer, body.byteOffset, body.byteLength).equals(file.body)) {
      return undefined;
    }
    return { rows: file.rows, unkeyed: file.unkeyed };
  }

  private forget(name: string): void {
    const file = this.files.get(name);
    if (!file) return;
    this.files.delete(name);
    this.bytes -= file.bytes;
  }
}

/**
 * The process's memory of the chat files it wrote: up to 16 MiB of NDJSON text, outside the heap
 * (a local day of 625 chats on ~120 KB pages is about 3 MiB; a far larger day settles its oldest
 * pages from their bytes).
 */
export const writtenFiles = new WrittenFiles(16 * 2 ** 20);
