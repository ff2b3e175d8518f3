import { S3Client } from '@aws-sdk/client-s3';
import type { LakeSink } from '#lake/sinks/lake-sink.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import { S3Sink } from '#lake/sinks/s3-sink.ts';
import { InvalidInputError } from '#shared/errors.ts';

export type LakeDestination = { kind: 'folder'; dir: string } | { kind: 'bucket'; bucket: string; prefix: string };

/** `--out DIR` or `--bucket NAME [--prefix P]`; `fallbackDir` when neither is given, else an error. */
export function parseLakeDestination(
  values: { out?: string; bucket?: string; prefix?: string },
  fallbackDir?: string,
): LakeDestination {
  if (values.out !== undefined && values.bucket !== undefined) {
    throw new InvalidInputError('give either --out or --bucket, not both');
  }
  if (values.prefix !== undefined && values.bucket === undefined)
    throw new InvalidInputError('--prefix needs --bucket');
  if (values.bucket !== undefined) {
    if (!values.bucket.trim()) throw new InvalidInputError('--bucket must not be empty');
    return { kind: 'bucket', bucket: values.bucket, prefix: values.prefix ?? '' };
  }
  const dir = values.out ?? fallbackDir;
  if (dir === undefined || !dir.trim()) throw new InvalidInputError('give the lake: --out DIR or --bucket NAME');
  return { kind: 'folder', dir };
}

export function createSink(destination: LakeDestination, s3?: S3Client): LakeSink {
  return destination.kind === 'folder'
    ? new LocalFileSink(destination.dir)
    : new S3Sink(s3 ?? new S3Client({}), destination.bucket, destination.prefix);
}
