/** What S3Sink and S3NoncurrentVersions (functions/privacy/) do alike with a bucket and key prefix. */
import { DeleteObjectsCommand, type ObjectIdentifier, type S3Client } from '@aws-sdk/client-s3';

/** `prefix` as the start of every key: empty, or ending in `/`. */
export const keyPrefix = (prefix: string): string => (prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix);

/**
 * Deletes objects (or object versions) 1,000 per DeleteObjects call, the API's limit. Throws on the
 * first batch S3 did not wholly delete, naming how many `what`s failed and the first one.
 */
export async function deleteInBatches(
  s3: S3Client,
  bucket: string,
  objects: readonly ObjectIdentifier[],
  what: string,
): Promise<void> {
  for (let start = 0; start < objects.length; start += 1000) {
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: objects.slice(start, start + 1000), Quiet: true },
      }),
    );
    if (result.Errors?.length) {
      const first = result.Errors[0];
      throw new Error(`S3 could not delete ${result.Errors.length} ${what}(s), first ${first?.Key}: ${first?.Code}`);
    }
  }
}
