import {
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { decodeNdjsonGzip } from '#lake/ndjson-gzip.ts';

/**
 * S3, SQS and Secrets Manager as the Lambda handler tests see them: PutObject/List/Delete on an
 * in-memory bucket (with the If-None-Match conditional write), SendMessageBatch recorded, and
 * a secret with the given JSON.
 */
export function lambdaAwsMocks() {
  const s3Mock = mockClient(S3Client);
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);
  const bucket = new Map<string, Uint8Array>();

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
      s3Mock.on(PutObjectCommand).callsFake((input: { Key: string; Body: Uint8Array; IfNoneMatch?: string }) => {
        if (input.IfNoneMatch === '*' && bucket.has(input.Key)) {
          throw new S3ServiceException({
            name: 'PreconditionFailed',
            $fault: 'client',
            $metadata: { httpStatusCode: 412 },
          });
        }
        bucket.set(input.Key, input.Body);
        return {};
      });
      s3Mock.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
        Contents: [...bucket.keys()].filter((key) => key.startsWith(input.Prefix)).map((Key) => ({ Key })),
      }));
      s3Mock.on(DeleteObjectsCommand).callsFake((input: { Delete: { Objects: Array<{ Key: string }> } }) => {
        for (const object of input.Delete.Objects) bucket.delete(object.Key);
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
