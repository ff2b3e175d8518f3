import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App, type AppProps } from 'aws-cdk-lib';
import { ArchiverStack } from './archiver-stack.ts';
import { configFromContext } from './config.ts';
import { addNagChecks } from './nag.ts';

export const STACK_NAME = 'LivechatArchiver';

const CDK_JSON = path.resolve(import.meta.dirname, '../cdk.json');

/** The context section of cdk.json: feature flags and the livechatArchiver defaults. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface ArchiverAppProps extends AppProps {
  /** Run the AwsSolutions checks during synthesis (default true). */
  readonly nag?: boolean;
}

/** The app `cdk` runs; tests call it too, so they synthesize with the same feature flags. */
export function createArchiverApp({ nag = true, context, ...props }: ArchiverAppProps = {}): {
  app: App;
  stack: ArchiverStack;
} {
  const app = new App({ ...props, context: { ...cdkJsonContext(), ...context } });
  const stack = new ArchiverStack(app, STACK_NAME, {
    config: configFromContext(app.node),
    description: 'Archives LiveChat chats nightly into an S3 data lake queried with Athena',
  });
  if (nag) addNagChecks(app);
  return { app, stack };
}
