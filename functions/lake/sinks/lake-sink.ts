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
  /** Human-readable location for logs, e.g. `s3://bucket/prefix` or a folder path. */
  readonly location: string;
}

export type ObjectContentType = 'ndjson-gzip' | 'json';
