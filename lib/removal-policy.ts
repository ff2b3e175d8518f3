import { RemovalPolicy } from 'aws-cdk-lib';
import type { ArchiverConfig } from './config.ts';

export function removalPolicyOf(config: ArchiverConfig): RemovalPolicy {
  return config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
}
