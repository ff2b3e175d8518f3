import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import type { ArchiverStack } from '#infra/archiver-stack.ts';
import { type ArchiverConfigInput, CONTEXT_KEY } from '#infra/config.ts';
import { ALARMS_TO } from './alarm-target.ts';

/** The archiver stack as `cdk synth` makes it (cdk.json's context, alarms to ALARMS_TO, `config` over both), without cdk-nag. */
export function synthStack(config: ArchiverConfigInput = {}): {
  stack: ArchiverStack;
  template: Template;
  /** The cloud assembly's folder: the bundled assets. */
  assemblyDir: string;
} {
  const { app, stack } = createArchiverApp({ nag: false, context: { [CONTEXT_KEY]: { ...ALARMS_TO, ...config } } });
  const assembly = app.synth();
  return {
    stack,
    template: Template.fromJSON(assembly.getStackByName(STACK_NAME).template),
    assemblyDir: assembly.directory,
  };
}

/** The template's logical ID of a resource, or of a construct's default child. */
export function logicalId(construct: IConstruct): string {
  const resource = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(resource instanceof CfnElement)) throw new Error(`${construct.node.path} has no resource`);
  return Stack.of(resource).resolve(resource.logicalId) as string;
}
