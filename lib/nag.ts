import { type App, CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** Any AwsSolutions finding not acknowledged next to its construct fails synthesis. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/** How cdk-nag spells `Fn::GetAtt` of an L2's resource in finding ids, e.g. `<LakeBucketB1D32E10.Arn>`. */
export function nagAttributeRef(construct: IConstruct, attribute = 'Arn'): string {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return `<${Stack.of(resource).resolve(resource.logicalId)}.${attribute}>`;
}

export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  for (const resource of resources) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
  }
}
