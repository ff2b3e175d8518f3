/** Rows as a plain aligned text table, for terminal reports. */
export function formatTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '  (no rows)';
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((column) => formatCell(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index]!.length)));
  const render = (values: string[]) =>
    `  ${values.map((value, index) => value.padEnd(widths[index]!)).join('  ')}`.trimEnd();
  return [render(columns), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)].join('\n');
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
