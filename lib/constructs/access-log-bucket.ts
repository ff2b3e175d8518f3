import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { secureBucketProps } from './secure-bucket.ts';

export class AccessLogBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, config: ArchiverConfig) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(config, 'access-logs'),
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(config.accessLogExpirationDays) }],
    });
  }
}
