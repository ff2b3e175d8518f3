/** Where lake files go: a local folder or an S3 bucket. Keys use `/` separators. */
export interface LakeSink {
  /** Writes the whole object or nothing: readers never see a partial file. */
  put(key: string, body: Uint8Array, contentType: ObjectContentType): Promise<void>;
  /** Creates a small object only if the key does not exist yet; false when it did. */
  putIfAbsent(key: string, body: Uint8Array, contentType: ObjectContentType): Promise<boolean>;
  /** The whole object, or undefined when the key does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix (complete objects only). */
  list(prefix: string): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * The object and its version (S3: the ETag; folder: the file's inode, size and mtime), for
   * replaceIfUnchanged. Sinks that cannot compare-and-swap leave both out; erase needs them.
   */
  getVersioned?(key: string): Promise<VersionedObject | undefined>;
  /**
   * Replaces `key` by `body` (or deletes it when `body` is undefined) only if it is still at
   * `version`, as one compare-and-swap (S3: PutObject or DeleteObject with If-Match); false when
   * another writer changed or deleted it since it was read.
   */
  replaceIfUnchanged?(
    key: string,
    version: string,
    body: Uint8Array | undefined,
    contentType: ObjectContentType,
  ): Promise<boolean>;
  /** Folder lakes: deletes what crashed writers left under the prefixes (`*.partial`, stale locks); the keys removed. */
  removeLeftovers?(prefixes: readonly string[]): Promise<string[]>;
  /** Human-readable location for logs, e.g. `s3://bucket/prefix` or a folder path. */
  readonly location: string;
  /**
   * Whether a settled file may be a series of gzip members (pages copied in as they are, not
   * compressed again): only for lakes whose readers decode every member (DuckDB reads a folder
   * lake). Unset for S3, which Athena reads: Athena documents nothing about concatenated members
   * and Trino lost the members after the first in some releases (docs/compaction.md, "Checked
   * against documentation"), so a settled file there is one gzip stream.
   */
  readonly concatenatedGzip?: boolean;
}

/** `binary`: an archived attachment, bytes as fetched. */
export type ObjectContentType = 'ndjson-gzip' | 'json' | 'parquet' | 'binary';

export interface VersionedObject {
  body: Uint8Array;
  version: string;
}
