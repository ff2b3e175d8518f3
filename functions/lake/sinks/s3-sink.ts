import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { LakeSink, ObjectContentType, VersionedObject } from './lake-sink.ts';
import { deleteInBatches, keyPrefix } from './s3-objects.ts';

const CONTENT_HEADERS: Record<ObjectContentType, { ContentType: string }> = {
  // A gzip file, not a gzip transfer encoding: with `Content-Encoding: gzip`, HTTP clients that
  // honour it would hand readers plain JSON under a `.json.gz` name. Athena and DuckDB go by the extension.
  'ndjson-gzip': { ContentType: 'application/gzip' },
  json: { ContentType: 'application/json' },
  parquet: { ContentType: 'application/vnd.apache.parquet' },
  binary: { ContentType: 'application/octet-stream' },
};

const httpStatus = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * A conditional write or delete lost (S3 user guide, conditional writes and deletes): the object
 * changed (412 PreconditionFailed), another conditional request on it was in flight (409
 * ConditionalRequestConflict), or, with If-Match, it no longer exists (404 NoSuchKey).
 */
const isConditionFailed = (error: unknown) =>
  httpStatus(error) === 412 ||
  httpStatus(error) === 409 ||
  (httpStatus(error) === 404 && (error as { name?: string }).name === 'NoSuchKey');

/**
 * Writes lake files to S3. A PutObject is atomic, so readers never see partial
 * objects; the SDK's standard retry mode handles throttling and 5xx.
 */
export class S3Sink implements LakeSink {
  readonly location: string;
  // Athena reads this lake: a settled file is one gzip stream (docs/compaction.md, checked against documentation).
  readonly concatenatedGzip = false;
  private readonly prefix: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = keyPrefix(prefix);
    this.location = `s3://${bucket}/${this.prefix}`;
  }

  async put(key: string, body: Uint8Array, contentType: ObjectContentType): Promise<void> {
    await this.putObject(key, body, contentType, {});
  }

  async putIfAbsent(key: string, body: Uint8Array, contentType: ObjectContentType): Promise<boolean> {
    try {
      await this.putObject(key, body, contentType, { IfNoneMatch: '*' });
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async getVersioned(key: string): Promise<VersionedObject | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      return { body, version: object.ETag ?? '' };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /** PutObject or DeleteObject with `If-Match: <ETag>` (a delete needs s3:GetObject besides s3:DeleteObject). */
  async replaceIfUnchanged(
    key: string,
    version: string,
    body: Uint8Array | undefined,
    contentType: ObjectContentType,
  ): Promise<boolean> {
    try {
      if (body) await this.putObject(key, body, contentType, { IfMatch: version });
      else
        await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, IfMatch: version }));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  /** One PutObject of `key`, with the write's conditions or metadata. */
  private async putObject(
    key: string,
    body: Uint8Array,
    contentType: ObjectContentType,
    extra: Pick<PutObjectCommandInput, 'IfMatch' | 'IfNoneMatch'>,
  ): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: body,
        ...extra,
        ...CONTENT_HEADERS[contentType],
      }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) keys.push(object.Key.slice(this.prefix.length));
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return keys.sort();
  }

  async delete(keys: readonly string[]): Promise<void> {
    await deleteInBatches(
      this.s3,
      this.bucket,
      keys.map((key) => ({ Key: this.prefix + key })),
      'object',
    );
  }
}
