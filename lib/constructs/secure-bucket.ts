import * as s3 from 'aws-cdk-lib/aws-s3';
import type { ArchiverConfig } from '#infra/config.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';

export function bucketNameOf(config: ArchiverConfig, suffix: string): string | undefined {
  return config.bucketNamePrefix ? `${config.bucketNamePrefix}-${suffix}` : undefined;
}

export function secureBucketProps(config: ArchiverConfig, suffix: string) {
  return {
    bucketName: bucketNameOf(config, suffix),
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: removalPolicyOf(config),
  } satisfies s3.BucketProps;
}
