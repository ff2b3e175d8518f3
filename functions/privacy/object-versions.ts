import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { deleteInBatches, keyPrefix } from '#lake/sinks/s3-objects.ts';

export interface ObjectVersion {
  key: string;
  versionId: string;
}

/**
 * The older copies a versioned bucket keeps of every overwritten or deleted object. An erased
 * chat lives on in them, so erasure reads and deletes them too; a folder lake has none.
 */
export interface NoncurrentVersions {
  /** Noncurrent versions holding data under a prefix (delete markers hold none and are skipped). */
  list(prefix: string): Promise<ObjectVersion[]>;
  get(version: ObjectVersion): Promise<Uint8Array>;
  delete(versions: readonly ObjectVersion[]): Promise<void>;
}

/** Keys are relative to `prefix`, as in S3Sink. Needs s3:ListBucketVersions, s3:GetObjectVersion, s3:DeleteObjectVersion. */
export class S3NoncurrentVersions implements NoncurrentVersions {
  private readonly prefix: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = keyPrefix(prefix);
  }

  async list(prefix: string): Promise<ObjectVersion[]> {
    const versions: ObjectVersion[] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          KeyMarker,
          VersionIdMarker,
        }),
      );
      for (const version of page.Versions ?? []) {
        if (version.IsLatest || !version.Key || !version.VersionId) continue;
        versions.push({ key: version.Key.slice(this.prefix.length), versionId: version.VersionId });
      }
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (KeyMarker);
    return versions;
  }

  async get(version: ObjectVersion): Promise<Uint8Array> {
    const object = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + version.key, VersionId: version.versionId }),
    );
    return object.Body ? object.Body.transformToByteArray() : new Uint8Array();
  }

  async delete(versions: readonly ObjectVersion[]): Promise<void> {
    await deleteInBatches(
      this.s3,
      this.bucket,
      versions.map((version) => ({ Key: this.prefix + version.key, VersionId: version.versionId })),
      'object version',
    );
  }
}
