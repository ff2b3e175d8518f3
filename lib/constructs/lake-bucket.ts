import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { COMPACTION_STAGING_PREFIX } from '#lake/athena-compaction-sql.ts';
import {
  CHAT_FILES_PREFIX,
  CHAT_TABLE_PREFIXES,
  COMPACTED_PREFIX,
  COMPACTED_TABLE_PREFIXES,
  compactedTablePrefix,
  FILE_PREFIXES,
  MANIFESTS_PREFIX,
  PASS_RECORD_PREFIXES,
} from '#lake/lake-layout.ts';
import { DEAD_LETTER_RETENTION_DAYS } from './page-queue.ts';
import { secureBucketProps } from './secure-bucket.ts';

/**
 * Days the records of a pass (unit-done and settled markers, drift claim, v3.6 slice reads) and a
 * day's merge record are kept after they were written. A pass reads only its own records, while
 * its tasks run: a task lives at most DEAD_LETTER_RETENTION_DAYS after it was first queued,
 * dead-lettered included, and a day stops being archived again lookbackDays + 1 nights after it
 * ended. Twice the dead-letter retention leaves two more weeks for a redrive; a merge that finds
 * its day's record gone reads the day again. With a shorter retentionDays they go with the chats
 * (they hold chat ids): a record expires no sooner than the chat files its pass wrote before it,
 * so a pass never outlives its records while it still has chats to settle.
 */
export function passRecordExpirationDays(config: Pick<ArchiverConfig, 'lookbackDays' | 'retentionDays'>): number {
  const inFlight = Math.max(2 * DEAD_LETTER_RETENTION_DAYS + 2, config.lookbackDays + 3);
  return config.retentionDays === undefined ? inFlight : Math.min(inFlight, config.retentionDays);
}

export interface LakeBucketProps {
  readonly config: ArchiverConfig;
  readonly accessLogs: s3.IBucket;
}

export class LakeBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, { config, accessLogs }: LakeBucketProps) {
    super(scope, id);
    const tiering = config.intelligentTieringAfterDays;
    const retention = config.retentionDays;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(config, 'lake'),
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'lake/',
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(config.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
        // Retention: chat files and attachments (files/, chat-files/) expire, and every noncurrent copy of them (overwritten by a lookback,
        // or made noncurrent by the expiry) goes a day later, so no chat outlives retentionDays + ~2.
        ...(retention === undefined
          ? []
          : [...CHAT_TABLE_PREFIXES, ...FILE_PREFIXES].map((prefix) => ({
              id: `retention-${prefix.replace(/\/$/, '')}`,
              prefix,
              expiration: Duration.days(retention),
              noncurrentVersionExpiration: Duration.days(1),
            }))),
        // A compacted day is written when the day leaves the nightly lookback (lookbackDays + 1 days
        // after its last nightly archive): it expires that much sooner, so it goes with its day
        // (its chat_files rows too, compacted with it).
        ...(retention === undefined
          ? []
          : [...COMPACTED_TABLE_PREFIXES, compactedTablePrefix(CHAT_FILES_PREFIX)].map((prefix) => ({
              id: `retention-${prefix.replace(/\/$/, '').replace('/', '-')}`,
              prefix,
              expiration: Duration.days(Math.max(1, retention - (config.lookbackDays + 1))),
              noncurrentVersionExpiration: Duration.days(1),
            }))),
        // Bookkeeping of passes and merges long finished (whether or not retentionDays is set; no later than the chats).
        ...PASS_RECORD_PREFIXES.map((prefix) => ({
          id: `expire-${prefix.slice(MANIFESTS_PREFIX.length).replace(/\/$/, '')}-records`,
          prefix,
          expiration: Duration.days(passRecordExpirationDays(config)),
          noncurrentVersionExpiration: Duration.days(1),
        })),
        // What a failed compaction left in the staging prefix (a later attempt empties its own first).
        { id: 'expire-compaction-staging', prefix: COMPACTION_STAGING_PREFIX, expiration: Duration.days(2) },
        // Only compacted day files: they are one object per day and table, large enough for S3 to
        // transition (it never moves objects under 128 KB, which most JSON day files are).
        ...(tiering === undefined
          ? []
          : [
              {
                id: 'intelligent-tiering-compacted',
                prefix: COMPACTED_PREFIX,
                transitions: [
                  { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(tiering) },
                ],
              },
            ]),
      ],
    });
  }
}
