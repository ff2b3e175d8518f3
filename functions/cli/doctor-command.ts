import { type CheckResult, checklistLine, type DoctorVerdict } from '#doctor/check-result.ts';
import { runDoctor } from '#doctor/run-doctor.ts';
import { LocalFileSink } from '#lake/sinks/local-file-sink.ts';
import type { RetryingApiTuning } from '#sources/retrying-api.ts';
import { DOCTOR_USAGE, type DoctorArgs, parseDoctorArgs } from './doctor-args.ts';
import { credentialsFrom } from './env-credentials.ts';
import { createSink } from './lake-destination.ts';
import { argsOrUsage, wantsHelp } from './run-command.ts';

export const DOCTOR_EXIT: Record<DoctorVerdict | 'usage', number> = { ok: 0, failed: 1, usage: 2, refused: 3 };

export interface DoctorCommandIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Client tuning for tests (short backoff); production uses the doctor's. */
  tuning?: RetryingApiTuning;
  now?: () => Date;
}

/** `npm run doctor`: the checklist on stdout, one line per check; returns the exit code. */
export async function doctorCommand(argv: readonly string[], io: DoctorCommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${DOCTOR_USAGE}\n`);
    return DOCTOR_EXIT.ok;
  }
  const args = argsOrUsage(() => parseDoctorArgs(argv), DOCTOR_USAGE, io.stderr);
  if (!args) return DOCTOR_EXIT.usage;
  const credentials = credentialsFrom(args, io.env);
  if (typeof credentials === 'string') {
    io.stderr.write(`error: ${credentials}\n`);
    return DOCTOR_EXIT.usage;
  }
  io.stderr.write(`doctor: ${describe(args)}\n`);
  const report = await runDoctor({
    credentials,
    apiUrl: args.apiUrl,
    ...(args.region ? { region: args.region } : {}),
    timeZone: args.timeZone,
    lookbackDays: args.lookbackDays,
    busyDayThreshold: args.busyDayThreshold,
    ...(args.backfillFrom ? { backfillFrom: args.backfillFrom } : {}),
    ...(args.lake ? { lake: lakeUnderCheck(args.lake) } : {}),
    ...(args.webhook
      ? {
          webhooks: {
            receiverUrl: args.webhook.url,
            ownerClientId: args.webhook.ownerClientId,
            secretKey: io.env.LIVECHAT_WEBHOOK_SECRET,
            secretSource: 'LIVECHAT_WEBHOOK_SECRET',
          },
        }
      : {}),
    ...(io.tuning ? { tuning: io.tuning } : {}),
    ...(io.now ? { now: io.now } : {}),
  });
  for (const result of report.results) io.stdout.write(`${checklistLine(result)}\n`);
  io.stdout.write(`${verdictLine(report.verdict, report.results)}\n`);
  return DOCTOR_EXIT[report.verdict];
}

function describe(args: DoctorArgs): string {
  return `source ${args.source} at ${args.apiUrl}${args.region ? ` (X-Region ${args.region})` : ''}, days in ${args.timeZone}`;
}

/** The lake a run would write; a local folder is also checked for write permission. No sink method that writes is called. */
function lakeUnderCheck(lake: NonNullable<DoctorArgs['lake']>) {
  const sink = createSink(lake);
  return sink instanceof LocalFileSink && lake.kind === 'folder' ? { sink, folder: lake.dir } : { sink };
}

function verdictLine(verdict: DoctorVerdict, results: readonly CheckResult[]): string {
  const warnings = results.filter((result) => result.status === 'warning').length;
  const failures = results.filter((result) => result.status === 'failed').length;
  if (verdict === 'refused') return 'doctor: LiveChat refused the credentials (exit 3)';
  if (verdict === 'failed')
    return `doctor: ${failures} check(s) failed, ${warnings} warning(s): fix them before the first night (exit 1)`;
  return `doctor: this account can be archived${warnings > 0 ? ` (${warnings} warning(s))` : ''}`;
}
