import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

interface StoredVersion {
  versionId: string;
  /** Undefined for a delete marker. */
  body: Buffer | undefined;
  metadata?: Record<string, string>;
}

/**
 * A versioned bucket in memory behind aws-sdk-client-mock: PutObject (with If-None-Match,
 * If-Match on the ETag and user metadata), HeadObject,
 * GetObject (latest or by VersionId), ListObjectsV2, DeleteObjects (a delete marker, or a
 * version removed for good when VersionId is given) and ListObjectVersions, as S3 documents
 * them for a bucket with versioning enabled.
 */
export function mockVersionedBucket(bucket: string) {
  const history = new Map<string, StoredVersion[]>(); // oldest first
  let nextVersion = 1;
  const latest = (key: string) => history.get(key)?.at(-1);
  const add = (key: string, body: Buffer | undefined, metadata?: Record<string, string>) => {
    const version = { versionId: `v${nextVersion++}`, body, ...(metadata ? { metadata } : {}) };
    history.set(key, [...(history.get(key) ?? []), version]);
  };
  const mock = mockClient(S3Client);
  const checkBucket = (name: string | undefined) => {
    if (name !== bucket) throw new Error(`unexpected bucket ${name}`);
  };

  mock.on(PutObjectCommand).callsFake(async (input) => {
    checkBucket(input.Bucket);
    if (input.IfNoneMatch === '*' && latest(input.Key)?.body) {
      throw new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      });
    }
    const current = latest(input.Key);
    if (input.IfMatch !== undefined && (!current?.body || `"${current.versionId}"` !== input.IfMatch)) {
      throw new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      });
    }
    add(input.Key, Buffer.from(input.Body as Uint8Array), input.Metadata);
    return { ETag: `"${latest(input.Key)!.versionId}"` };
  });
  mock.on(HeadObjectCommand).callsFake(async (input) => {
    checkBucket(input.Bucket);
    const current = latest(input.Key);
    if (!current?.body)
      throw new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    return { ETag: `"${current.versionId}"`, Metadata: current.metadata ?? {} };
  });
  mock.on(GetObjectCommand).callsFake(async (input) => {
    checkBucket(input.Bucket);
    const versions = history.get(input.Key) ?? [];
    const version = input.VersionId ? versions.find((v) => v.versionId === input.VersionId) : versions.at(-1);
    if (!version?.body)
      throw new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
    const body = version.body;
    return { Body: { transformToByteArray: async () => new Uint8Array(body) } as never, VersionId: version.versionId };
  });
  mock.on(ListObjectsV2Command).callsFake(async (input) => {
    checkBucket(input.Bucket);
    const keys = [...history.keys()].filter((key) => key.startsWith(input.Prefix ?? '') && latest(key)?.body).sort();
    return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
  });
  mock.on(ListObjectVersionsCommand).callsFake(async (input) => {
    checkBucket(input.Bucket);
    const keys = [...history.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
    type Entry = { Key: string; VersionId: string; IsLatest: boolean };
    const Versions: Entry[] = [];
    const DeleteMarkers: Entry[] = [];
    for (const Key of keys) {
      const versions = history.get(Key)!;
      for (const [index, version] of versions.entries()) {
        const entry = { Key, VersionId: version.versionId, IsLatest: index === versions.length - 1 };
        (version.body ? Versions : DeleteMarkers).push(entry);
      }
    }
    return { Versions, DeleteMarkers, IsTruncated: false };
  });
  mock.on(DeleteObjectsCommand).callsFake(async (input) => {
    checkBucket(input.Bucket);
    for (const { Key, VersionId } of input.Delete?.Objects ?? []) {
      if (!Key) continue;
      if (VersionId)
        history.set(
          Key,
          (history.get(Key) ?? []).filter((v) => v.versionId !== VersionId),
        );
      else if (latest(Key)?.body) add(Key, undefined);
    }
    return {};
  });

  return {
    mock,
    client: new S3Client({ region: 'us-east-1' }),
    /** Every stored version with data, current or not, oldest first per key. */
    allVersions: () =>
      [...history].flatMap(([key, versions]) =>
        versions.filter((v) => v.body).map((v) => ({ key, versionId: v.versionId, body: v.body! })),
      ),
    currentKeys: () => [...history.keys()].filter((key) => latest(key)?.body).sort(),
    current: (key: string) => latest(key)?.body,
    restore: () => mock.restore(),
  };
}
