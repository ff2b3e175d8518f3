import { LAST_RANGES, type LastRange, writeReport } from '#report/build-report.ts';
import { InvalidInputError } from '#shared/errors.ts';
import { firstLine, parseFlags, stringFlags } from './parse-flags.ts';
import { creatableFolder, wantsHelp } from './run-command.ts';

export const REPORT_USAGE =
  'usage: npm run report -- [--lake DIR] [--out DIR] [--from YYYY-MM-DD] [--to YYYY-MM-DD | --last 7d|30d|quarter]';

export interface ReportCommandIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * `npm run report`: writes `<out>/report.html` from the lake and prints its path.
 * Exit 0 (also for an empty-state page), 2 for bad arguments or a folder that is not a lake,
 * 1 when the lake cannot be read; every failure is one `error:` line.
 */
export async function reportCommand(argv: readonly string[], io: ReportCommandIo): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  try {
    const args = parseReportArgs(argv);
    creatableFolder(args.outDir, '--out');
    const result = await writeReport(args);
    if (result.empty) {
      io.stderr.write(
        `note: ${args.lakeDir} holds no chat, run manifest or day plan for ${result.from} to ${result.to}; the report says so\n`,
      );
    }
    io.stdout.write(
      `report: ${result.file} (${result.chats.toLocaleString('en-US')} chats, ${result.from} to ${result.to}, ${(result.bytes / 1024).toFixed(0)} KB)\n`,
    );
    return 0;
  } catch (error) {
    const usage = error instanceof InvalidInputError;
    io.stderr.write(`error: ${firstLine(error)}\n`);
    if (usage) io.stderr.write(`${REPORT_USAGE}\n`);
    return usage ? 2 : 1;
  }
}

function parseReportArgs(argv: readonly string[]): {
  lakeDir: string;
  outDir: string;
  from?: string;
  to?: string;
  last?: LastRange;
} {
  const values = parseFlags(argv, {
    ...stringFlags('from', 'to', 'last'),
    lake: { type: 'string', default: 'lake' },
    out: { type: 'string', default: 'report' },
  });
  const last = values.last;
  if (last !== undefined && !(LAST_RANGES as readonly string[]).includes(last)) {
    throw new InvalidInputError(`--last must be one of ${LAST_RANGES.join(', ')}, got "${last}"`);
  }
  if (last !== undefined && (values.from !== undefined || values.to !== undefined)) {
    throw new InvalidInputError('give either --last or --from/--to, not both');
  }
  return {
    lakeDir: values.lake,
    outDir: values.out,
    ...(last !== undefined ? { last: last as LastRange } : {}),
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
  };
}
