/**
 * The one log line a failed queued task leaves (a partly failed batch otherwise shows it only
 * in the DLQ): which task (kind, run, day, page or slice, attempt) and why (error class and
 * message). Read from the raw message body, so a body that does not decode still gets its line.
 */
export function describeFailedTask(body: string, error: unknown): Record<string, string | number> {
  let task: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) task = parsed as Record<string, unknown>;
  } catch {
    // not JSON: described as unreadable below
  }
  const text = (value: unknown) => (typeof value === 'string' ? { value: value.slice(0, 128) } : undefined);
  const whole = (value: unknown) => (Number.isInteger(value) ? { value: value as number } : undefined);
  const fields: Record<string, string | number> = { taskKind: text(task.kind)?.value ?? 'unreadable' };
  for (const [name, value] of [
    ['runId', text(task.runId)],
    ['day', text(task.day)],
    ['page', whole(task.page)],
    ['slice', text(task.slice)],
    ['threadId', text(task.threadId)],
    ['attempt', whole(task.attempt)],
  ] as const) {
    if (value) fields[name] = value.value;
  }
  fields.errorClass = error instanceof Error ? error.name : typeof error;
  fields.error = (error instanceof Error ? error.message : String(error)).slice(0, 500);
  return fields;
}

/** Replaces each of `secrets` in the line's values (a message that quoted a credential would leak it). */
export function withoutSecrets(
  fields: Record<string, string | number>,
  secrets: readonly string[],
): Record<string, string | number> {
  if (secrets.length === 0) return fields;
  return Object.fromEntries(
    Object.entries(fields).map(([name, value]) => [
      name,
      typeof value === 'string' ? secrets.reduce((line, secret) => line.replaceAll(secret, '[secret]'), value) : value,
    ]),
  );
}
