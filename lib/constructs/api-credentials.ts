import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ArchiverConfig } from '#infra/config.ts';
import { removalPolicyOf } from '#infra/removal-policy.ts';

export class ApiCredentials extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** The ARN IAM policies name: exact for a created secret, with the random suffix wildcard for an imported one. */
  readonly policyArn: string;

  constructor(scope: Construct, id: string, config: ArchiverConfig) {
    super(scope, id);
    if (config.secretName) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Secret', config.secretName);
      this.policyArn = `${this.secret.secretArn}-??????`;
      return;
    }
    const secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        config.source === 'v3.6'
          ? 'LiveChat Agent Chat API v3.6 credentials as {"accountId":"...","token":"..."} (Personal Access Token) or {"bearerToken":"..."}; set with aws secretsmanager put-secret-value.'
          : 'LiveChat REST API v2 credentials as {"login":"<agent e-mail>","pat":"..."} (Personal Access Token, scope archives_read), {"bearerToken":"..."} or the legacy {"login":"...","apiKey":"..."}; set with aws secretsmanager put-secret-value.',
      removalPolicy: removalPolicyOf(config),
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is a LiveChat personal access token issued in the LiveChat console; LiveChat offers no API a rotation Lambda could call.',
    });
    this.secret = secret;
    this.policyArn = secret.secretArn;
  }
}
