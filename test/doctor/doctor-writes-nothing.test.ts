import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCTOR_EXIT } from '#cli/doctor-command.ts';
import { type RunningSimulator, startSimulator } from '#simulator/index.ts';
import { DATA, runDoctorCli } from './doctor-support.ts';

const s3 = mockClient(S3Client);
let sim: RunningSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  s3.reset();
});

describe('doctor on an S3 lake', () => {
  it('only lists the bucket: no PutObject, no DeleteObjects, no other S3 call', async () => {
    sim = await startSimulator({ ...DATA, chatsPerDay: 20 });
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'team/manifests/time-zone/Europe/Warsaw.json' }] });
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat, LIVECHAT_ACCOUNT_ID: sim.accountId };
    const run = await runDoctorCli(
      ['--api-url', sim.url, '--bucket', 'my-lake', '--prefix', 'team', '--time-zone', 'Europe/Warsaw'],
      env,
    );
    expect(run.code).toBe(DOCTOR_EXIT.ok);
    expect(run.lines.line['lake']).toContain('s3://my-lake/team/ readable (no write tried), days cut in Europe/Warsaw');
    const calls = s3.calls().map((call) => call.args[0].constructor.name);
    expect(calls).toEqual(['ListObjectsV2Command']);
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toMatchObject({
      Bucket: 'my-lake',
      Prefix: 'team/manifests/time-zone/',
    });
  });

  it('fails the lake check when the bucket cannot be read, naming the error', async () => {
    sim = await startSimulator({ ...DATA, chatsPerDay: 20 });
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('The specified bucket does not exist'), { name: 'NoSuchBucket' }),
    );
    const env = { LIVECHAT_LOGIN: sim.login, LIVECHAT_PAT: sim.pat };
    const run = await runDoctorCli(['--api-url', sim.url, '--bucket', 'missing-lake'], env);
    expect(run.code).toBe(DOCTOR_EXIT.failed);
    expect(run.lines.line['lake']).toContain('s3://missing-lake/ cannot be read: NoSuchBucket');
  });
});
