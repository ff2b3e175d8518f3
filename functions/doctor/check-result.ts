/** One line of the doctor's checklist: what was checked, how it went, and the fix when it did not. */
export type CheckStatus = 'ok' | 'warning' | 'failed';

/** Every check, in the order the checklist prints them. */
export const CHECK_NAMES = [
  'credentials',
  'data-centre',
  'api-lifecycle',
  'volume',
  'sample',
  'retention',
  'webhooks',
  'lake',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  /** One line; never a secret, never a chat's value. */
  summary: string;
  /** What to do, when the status is not ok. */
  fix?: string;
}

/** How the checks went, as the CLI's exit code names it. */
export type DoctorVerdict = 'ok' | 'failed' | 'refused';

export interface DoctorReport {
  results: CheckResult[];
  /** `refused`: LiveChat refused the credentials; `failed`: another check failed; `ok`: warnings at most. */
  verdict: DoctorVerdict;
}

export const ok = (check: CheckName, summary: string): CheckResult => ({ check, status: 'ok', summary });
export const warning = (check: CheckName, summary: string, fix?: string): CheckResult => ({
  check,
  status: 'warning',
  summary,
  ...(fix ? { fix } : {}),
});
export const failed = (check: CheckName, summary: string, fix?: string): CheckResult => ({
  check,
  status: 'failed',
  summary,
  ...(fix ? { fix } : {}),
});

/** `failed  retention    summary → fix`: the checklist line the CLI prints. */
export function checklistLine(result: CheckResult): string {
  const fix = result.fix ? ` → ${result.fix}` : '';
  return `${result.status.padEnd(7)} ${result.check.padEnd(13)} ${result.summary}${fix}`;
}
