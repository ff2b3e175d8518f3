import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';

/**
 * S3, SQS and Secrets Manager as the Lambda handler tests see them: Put/Head/Get/List/Delete on
 * an in-memory bucket (conditional writes on If-None-Match and If-Match, user metadata kept),
 * SendMessageBatch recorded, and a secret with the given JSON.
 */
export function lambdaAwsMocks() {
  const s3Mock = mockClient(S3Client);
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);
  const bucket = new Map<string, Uint8Array>();
  /** ETag and user metadata per key, as S3 keeps them beside the body. */
  const heads = new Map<string, { etag: string; metadata?: Record<string, string> }>();
  let writes = 0;
  const preconditionFailed = () =>
    new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 } });

  return {
    s3Mock,
    sqsMock,
    secretsMock,
    /** The S3 bucket as the mocked PutObject/DeleteObjects calls left it. */
    bucket,
    /** For beforeEach: an empty bucket and queue, and the secret's JSON. */
    reset(secret: unknown): void {
      bucket.clear();
      s3Mock.reset();
      sqsMock.reset();
      secretsMock.reset();
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
      heads.clear();
      s3Mock
        .on(PutObjectCommand)
        .callsFake(
          (input: {
            Key: string;
            Body: Uint8Array;
            IfNoneMatch?: string;
            IfMatch?: string;
            Metadata?: Record<string, string>;
          }) => {
            if (input.IfNoneMatch === '*' && bucket.has(input.Key)) throw preconditionFailed();
            if (input.IfMatch !== undefined && heads.get(input.Key)?.etag !== input.IfMatch) throw preconditionFailed();
            writes += 1;
            const etag = `"${writes}"`;
            bucket.set(input.Key, input.Body);
            heads.set(input.Key, { etag, ...(input.Metadata ? { metadata: input.Metadata } : {}) });
            return { ETag: etag };
          },
        );
      s3Mock.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
        const head = heads.get(input.Key);
        if (!head)
          throw new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } });
        return { ETag: head.etag, Metadata: head.metadata ?? {} };
      });
      s3Mock.on(GetObjectCommand).callsFake((input: { Key: string }) => {
        const body = bucket.get(input.Key);
        if (!body)
          throw new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
        return { Body: { transformToByteArray: async () => body } };
      });
      s3Mock.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
        Contents: [...bucket.keys()].filter((key) => key.startsWith(input.Prefix)).map((Key) => ({ Key })),
      }));
      s3Mock.on(DeleteObjectsCommand).callsFake((input: { Delete: { Objects: Array<{ Key: string }> } }) => {
        for (const object of input.Delete.Objects) {
          bucket.delete(object.Key);
          heads.delete(object.Key);
        }
        return {};
      });
      sqsMock.on(SendMessageBatchCommand).resolves({});
    },
    /** Message bodies sent since the last call. */
    queuedBodies(): string[] {
      const bodies = sqsMock
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries ?? [])
        .map((entry) => entry.MessageBody!);
      sqsMock.resetHistory();
      return bodies;
    },
    /** Every record of a day's partition, in key order. */
    async recordsOf(day: string): Promise<Array<Record<string, unknown>>> {
      const keys = [...bucket.keys()].filter((key) => key.startsWith(`chats/dt=${day}/`)).sort();
      const records: Array<Record<string, unknown>> = [];
      for (const key of keys) records.push(...(await decodeNdjsonGzip<Record<string, unknown>>(bucket.get(key)!)));
      return records;
    },
  };
}

/** For tests with their own S3 mock: every HeadObject and GetObject finds no object (no claim, no earlier writer). */
export function answerNoObjects(s3Mock: ReturnType<typeof lambdaAwsMocks>['s3Mock']): void {
  s3Mock
    .on(HeadObjectCommand)
    .rejects(new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } }));
  s3Mock
    .on(GetObjectCommand)
    .rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
}
