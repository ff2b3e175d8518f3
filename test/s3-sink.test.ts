import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Sink } from '#lake/sinks/s3-sink.ts';

const s3Mock = mockClient(S3Client);

beforeEach(() => s3Mock.reset());

describe('S3Sink', () => {
  it('puts gzip NDJSON pages under the prefix as gzip files (content type, no content encoding)', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    const sink = new S3Sink(new S3Client({}), 'lake-bucket', 'archive');
    await sink.put('chats/dt=2026-01-01/page-00001.json.gz', Buffer.from('gz'), 'ndjson-gzip');
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'lake-bucket',
      Key: 'archive/chats/dt=2026-01-01/page-00001.json.gz',
      Body: Buffer.from('gz'),
      ContentType: 'application/gzip',
    });
    // Stored as a gzip file: no Content-Encoding, so no client decodes it on the way out.
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.ContentEncoding).toBeUndefined();
    expect(sink.location).toBe('s3://lake-bucket/archive/');
  });

  it('lists every page of a listing and strips the prefix', async () => {
    s3Mock
      .on(ListObjectsV2Command, { ContinuationToken: undefined })
      .resolves({
        Contents: [{ Key: 'p/chats/dt=2026-01-01/page-00002.json.gz' }],
        IsTruncated: true,
        NextContinuationToken: 't2',
      })
      .on(ListObjectsV2Command, { ContinuationToken: 't2' })
      .resolves({ Contents: [{ Key: 'p/chats/dt=2026-01-01/page-00001.json.gz' }], IsTruncated: false });
    const sink = new S3Sink(new S3Client({}), 'b', 'p/');
    expect(await sink.list('chats/dt=2026-01-01/')).toEqual([
      'chats/dt=2026-01-01/page-00001.json.gz',
      'chats/dt=2026-01-01/page-00002.json.gz',
    ]);
    expect(s3Mock).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'b', Prefix: 'p/chats/dt=2026-01-01/' });
  });

  it('deletes in batches of 1000 and fails loudly on per-key errors', async () => {
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const sink = new S3Sink(new S3Client({}), 'b');
    const keys = Array.from({ length: 1001 }, (_, index) => `chats/dt=2026-01-01/page-${index}.json.gz`);
    await sink.delete(keys);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectsCommand, 2);

    s3Mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'chats/x', Code: 'AccessDenied' }] });
    await expect(sink.delete(['chats/x'])).rejects.toThrow(
      /could not delete 1 object\(s\), first chats\/x: AccessDenied/,
    );
  });

  it('creates a claim only if absent (If-None-Match), reporting an existing one as false', async () => {
    const sink = new S3Sink(new S3Client({}), 'b');
    s3Mock.on(PutObjectCommand).resolvesOnce({});
    expect(await sink.putIfAbsent('manifests/claim.json', Buffer.from('{}'), 'json')).toBe(true);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Key: 'manifests/claim.json', IfNoneMatch: '*' });

    s3Mock
      .on(PutObjectCommand)
      .rejects(
        new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 } }),
      );
    expect(await sink.putIfAbsent('manifests/claim.json', Buffer.from('{}'), 'json')).toBe(false);

    s3Mock
      .on(PutObjectCommand)
      .rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));
    await expect(sink.putIfAbsent('manifests/claim.json', Buffer.from('{}'), 'json')).rejects.toThrow();
  });

  it('gets a whole object under the prefix, undefined for NoSuchKey, and throws other errors', async () => {
    const sink = new S3Sink(new S3Client({}), 'b', 'p');
    s3Mock
      .on(GetObjectCommand, { Key: 'p/manifests/a.json' })
      .resolves({ Body: { transformToByteArray: async () => new Uint8Array([123, 125]) } as never })
      .on(GetObjectCommand, { Key: 'p/manifests/none.json' })
      .rejects(new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' }))
      .on(GetObjectCommand, { Key: 'p/manifests/denied.json' })
      .rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } }));
    expect(Buffer.from((await sink.get('manifests/a.json'))!).toString()).toBe('{}');
    expect(await sink.get('manifests/none.json')).toBeUndefined();
    await expect(sink.get('manifests/denied.json')).rejects.toThrow();
  });
});
