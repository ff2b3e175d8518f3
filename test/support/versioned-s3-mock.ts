import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
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
 * A versioned bucket in memory behind aws-sdk-client-mock, as S3 documents it for a bucket with
 * versioning enabled (user guide: conditional writes, conditional deletes, versioning):
 * - PutObject, with user metadata and the conditions `If-None-Match: *` (412 PreconditionFailed
 *   when a current object exists) and `If-Match: <ETag>` (412 when the ETag differs, 404
 *   NoSuchKey when there is no current object or it is a delete marker); the ETag is the MD5 of
 *   the body, so two writes of the same bytes have the same ETag, as on S3.
 * - DeleteObject (a delete marker; with `If-Match: <ETag>`: 412 / 404 as above; with VersionId
 *   that version goes for good) and DeleteObjects (the same per object, unconditionally).
 * - GetObject (latest or by VersionId, with its ETag), HeadObject, ListObjectsV2, ListObjectVersions.
 * Every request is applied atomically. `beforeSend` hooks run before each one is applied: a test
 * interleaves other work there (another erase, an archive write) to force a race.
 */
export function mockVersionedBucket(bucket: string) {
  const history = new Map<string, StoredVersion[]>(); // oldest first
  let nextVersion = 1;
  const latest = (key: string) => history.get(key)?.at(-1);
  const etagOf = (body: Buffer) => `"${createHash('md5').update(body).digest('hex')}"`;
  const add = (key: string, body: Buffer | undefined, metadata?: Record<string, string>) => {
    const version = { versionId: `v${nextVersion++}`, body, ...(metadata ? { metadata } : {}) };
    history.set(key, [...(history.get(key) ?? []), version]);
  };
  const mock = mockClient(S3Client);
  const hooks: Array<(command: string, input: Record<string, unknown>) => Promise<void>> = [];
  const before = async (command: string, input: object) => {
    for (const hook of hooks) await hook(command, input as Record<string, unknown>);
  };
  const checkBucket = (name: string | undefined) => {
    if (name !== bucket) throw new Error(`unexpected bucket ${name}`);
  };
  const preconditionFailed = () =>
    new S3ServiceException({
      name: 'PreconditionFailed',
      $fault: 'client',
      $metadata: { httpStatusCode: 412 },
      message: 'At least one of the pre-conditions you specified did not hold',
    });
  const noSuchKey = () =>
    new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
  /** If-Match against the current version: absent or a delete marker is 404, another ETag 412. */
  const checkIfMatch = (key: string, ifMatch: string | undefined) => {
    if (ifMatch === undefined) return;
    const current = latest(key);
    if (!current?.body) throw noSuchKey();
    if (ifMatch !== '*' && etagOf(current.body) !== ifMatch) throw preconditionFailed();
  };

  mock.on(PutObjectCommand).callsFake(async (input) => {
    await before('PutObject', input);
    checkBucket(input.Bucket);
    if (input.IfNoneMatch === '*' && latest(input.Key!)?.body) throw preconditionFailed();
    checkIfMatch(input.Key!, input.IfMatch);
    add(input.Key!, Buffer.from(input.Body as Uint8Array), input.Metadata);
    const stored = latest(input.Key!)!;
    return { ETag: etagOf(stored.body!), VersionId: stored.versionId };
  });
  mock.on(DeleteObjectCommand).callsFake(async (input) => {
    await before('DeleteObject', input);
    checkBucket(input.Bucket);
    if (input.VersionId) {
      history.set(
        input.Key!,
        (history.get(input.Key!) ?? []).filter((v) => v.versionId !== input.VersionId),
      );
      return {};
    }
    checkIfMatch(input.Key!, input.IfMatch);
    if (latest(input.Key!)?.body) add(input.Key!, undefined);
    return { DeleteMarker: true };
  });
  mock.on(HeadObjectCommand).callsFake(async (input) => {
    await before('HeadObject', input);
    checkBucket(input.Bucket);
    const current = latest(input.Key!);
    if (!current?.body)
      throw new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } });
    return { ETag: etagOf(current.body), Metadata: current.metadata ?? {} };
  });
  mock.on(GetObjectCommand).callsFake(async (input) => {
    await before('GetObject', input);
    checkBucket(input.Bucket);
    const versions = history.get(input.Key) ?? [];
    const version = input.VersionId ? versions.find((v) => v.versionId === input.VersionId) : versions.at(-1);
    if (!version?.body) throw noSuchKey();
    const body = version.body;
    return {
      Body: { transformToByteArray: async () => new Uint8Array(body) } as never,
      VersionId: version.versionId,
      ETag: etagOf(body),
    };
  });
  mock.on(ListObjectsV2Command).callsFake(async (input) => {
    await before('ListObjectsV2', input);
    checkBucket(input.Bucket);
    const keys = [...history.keys()].filter((key) => key.startsWith(input.Prefix ?? '') && latest(key)?.body).sort();
    return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
  });
  mock.on(ListObjectVersionsCommand).callsFake(async (input) => {
    await before('ListObjectVersions', input);
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
    await before('DeleteObjects', input);
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
    /** Runs `hook` before each request is applied (in the order added), e.g. to interleave a race. */
    beforeSend: (hook: (command: string, input: Record<string, unknown>) => Promise<void>) => void hooks.push(hook),
  };
}
