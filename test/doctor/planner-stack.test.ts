import { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { CONTEXT_KEY } from '#infra/config.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';

describe("the planner's doctor in the stack", () => {
  it('gives the planner what the checks need: the API, the data centre, the v3.6 slicing and the lake bucket', () => {
    const { app, stack } = createArchiverApp({
      nag: false,
      context: {
        [CONTEXT_KEY]: {
          ...ALARMS_TO,
          source: 'v3.6',
          region: 'fra',
          busyDayThreshold: 500,
          apiUrl: 'https://api.example.test',
        },
      },
    });
    const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
    const resource = stack.functions.planner.node.defaultChild;
    if (!(resource instanceof CfnElement)) throw new Error('the planner has no resource');
    const planner = template.toJSON().Resources[stack.resolve(resource.logicalId) as string].Properties;
    expect(planner.Environment.Variables).toMatchObject({
      SOURCE: 'v3.6',
      API_URL: 'https://api.example.test',
      REGION: 'fra',
      BUSY_DAY_THRESHOLD: '500',
      TIME_ZONE: 'UTC',
      LOOKBACK_DAYS: '3',
    });
    expect(planner.Environment.Variables.BUCKET_NAME).toEqual({ Ref: expect.stringMatching(/LakeBucket/) });
  });
});
