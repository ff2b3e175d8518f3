import { TrinoSQL } from 'dt-sql-parser';
import { describe, expect, it } from 'vitest';
import { ALL_DAYS, NAMED_QUERIES } from '#lake/named-queries.ts';
import { ATHENA } from '#lake/sql-dialect.ts';

const REQUIRED = [
  'chats_per_day',
  'chats_per_agent_per_day',
  'rating_share',
  'missed_chat_share',
  'goals_reached',
  'duration_stats',
  'first_response_time',
  'message_search',
  'latest_copy_per_chat',
  'chats_with_variable',
];

/** SQL without -- comments and string literals, for token checks. */
const code = (sql: string) => sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''");

describe('NAMED_QUERIES', () => {
  it('has at least 10 queries including every required one', () => {
    expect(NAMED_QUERIES.length).toBeGreaterThanOrEqual(10);
    expect(NAMED_QUERIES.map((q) => q.name)).toEqual(expect.arrayContaining(REQUIRED));
  });

  it('has unique snake/kebab-case names that fit an Athena named query', () => {
    const names = NAMED_QUERIES.map((q) => q.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*$/);
      expect(name.length).toBeLessThanOrEqual(128);
    }
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))(
    '%s: is documented and reads table chats in both dialects',
    (_n, q) => {
      expect(q.description.length).toBeGreaterThan(20);
      expect(q.description.length).toBeLessThanOrEqual(1024);
      for (const sql of [q.athenaSql, q.duckdbSql]) {
        expect(code(sql)).toMatch(/\bFROM\s+(?:chats|chat_threads)\b/i);
        expect(sql).toBe(sql.trim());
        expect(sql.endsWith(';')).toBe(false);
        expect(code(sql)).not.toContain(';');
      }
    },
  );

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))('%s: quotes reserved and _-prefixed identifiers', (_n, q) => {
    for (const sql of [q.athenaSql, q.duckdbSql]) {
      const c = code(sql);
      // `group` only as the GROUP BY keyword or quoted.
      expect(c).not.toMatch(/(?<!")\bgroup\b(?!"|\s+BY\b)/i);
      // metadata columns always double-quoted
      expect(c).not.toMatch(/(?<!")\b_(?:run_id|archived_at|page)\b/);
      // struct fields named like keywords are quoted
      expect(c).not.toMatch(/\.(?:timestamp|date)\b/);
    }
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))('%s: keeps each dialect to its own functions', (_n, q) => {
    const athena = code(q.athenaSql);
    const duck = code(q.duckdbSql);
    expect(athena).not.toMatch(
      /\b(?:list_filter|list_transform|list_min|quantile_cont|lambda|len|generate_series|range)\b/i,
    );
    expect(duck).not.toMatch(
      /\b(?:approx_percentile|cardinality|element_at|array_min|transform|filter|sequence)\s*\(/i,
    );
    expect(duck).not.toContain('->');
  });

  it.each(NAMED_QUERIES.map((q) => [q.name, q] as const))('%s: Athena text is valid Trino SQL', (_n, q) => {
    // dt-sql-parser's TrinoSQL is built from Trino's own ANTLR grammar: a check the project did not write.
    const errors = new TrinoSQL().validate(q.athenaSql);
    expect(errors.map((e) => `${e.startLine}:${e.startColumn} ${e.message}`)).toEqual([]);
  });

  it('the Trino grammar check catches a broken query', () => {
    expect(new TrinoSQL().validate('SELECT dt FROM chats WHERE GROUP BY dt').length).toBeGreaterThan(0);
  });

  it('uses approx_percentile in Athena and quantile_cont in DuckDB for percentiles', () => {
    for (const name of ['duration_stats', 'first_response_time']) {
      const q = NAMED_QUERIES.find((n) => n.name === name)!;
      expect(q.athenaSql).toMatch(/approx_percentile\(\w+, 0\.9\)/);
      expect(q.duckdbSql).toMatch(/quantile_cont\(\w+, 0\.9\)/);
    }
  });

  it('keeps the editable literals in one place with an EDIT comment', () => {
    const search = NAMED_QUERIES.find((q) => q.name === 'message_search')!;
    const variable = NAMED_QUERIES.find((q) => q.name === 'chats_with_variable')!;
    for (const sql of [search.athenaSql, search.duckdbSql]) {
      expect(sql.match(/'refund'/g)).toHaveLength(1);
      expect(sql).toContain('-- EDIT HERE');
    }
    for (const sql of [variable.athenaSql, variable.duckdbSql]) {
      expect(sql.match(/'customer_login'/g)).toHaveLength(1);
      expect(sql).toContain('-- EDIT HERE');
    }
    expect(search.description).toContain("'refund'");
    expect(variable.description).toContain("'customer_login'");
  });

  it('dedups by _archived_at desc with row_number in latest_copy_per_chat', () => {
    const q = NAMED_QUERIES.find((n) => n.name === 'latest_copy_per_chat')!;
    for (const sql of [q.athenaSql, q.duckdbSql]) {
      expect(sql).toMatch(/row_number\(\) OVER \(\s*PARTITION BY c\.id\s*ORDER BY c\."_archived_at" DESC/);
    }
  });

  describe('day_completeness lists the calendar in both engines', () => {
    const q = NAMED_QUERIES.find((n) => n.name === 'day_completeness')!;
    const renderings = [
      ['default window', q.athenaSql],
      [
        'a range, with retentionDays',
        q.render(ATHENA, { from: '2026-01-01', to: '2026-01-31' }, { retentionDays: 365 }),
      ],
    ] as const;

    it.each(renderings)('Athena (%s): valid Trino SQL with Trino functions only', (_label, sql) => {
      expect(new TrinoSQL().validate(sql).map((e) => `${e.startLine}:${e.startColumn} ${e.message}`)).toEqual([]);
      // Trino: sequence over dates (inclusive, 1 day steps) unnested laterally; DuckDB spells it generate_series.
      expect(sql).toContain(
        `CROSS JOIN UNNEST(sequence(CAST(sp.dt AS date), CAST(greatest(sp.dt, coalesce(sp.next_dt, sp.calendar_end)) AS date), INTERVAL '1' DAY)) AS s (day)`,
      );
      expect(code(sql)).not.toMatch(/\b(?:generate_series|range|list_\w+|strftime|date_diff)\s*\(/i);
      expect(code(sql)).not.toMatch(/::|\bINTERVAL \d/); // DuckDB casts and unquoted interval literals
    });

    it('ends the calendar at yesterday, or at the window end when that is earlier, in both engines', () => {
      expect(q.athenaSql).toContain(`CAST(current_date - INTERVAL '1' DAY AS varchar) AS calendar_end`);
      expect(q.duckdbSql).toContain('CAST(current_date - 1 AS VARCHAR) AS calendar_end');
      expect(q.render(ATHENA, { from: '2026-01-01', to: '2026-01-31' })).toContain(
        `least('2026-01-31', CAST(current_date - INTERVAL '1' DAY AS varchar)) AS calendar_end`,
      );
      expect(q.duckdbSql).toContain('generate_series(CAST(sp.dt AS date)');
      // A local lake read whole lists its own days, with no tail of not_archived days up to today.
      expect(q.render(ATHENA, ALL_DAYS)).toContain(`'0001-01-01' AS calendar_end`);
    });

    it('knows the retention cutoff only when the deployment sets retentionDays', () => {
      expect(q.athenaSql).toContain('y.dt < CAST(NULL AS varchar)');
      expect(q.render(ATHENA, undefined, { retentionDays: 365 })).toContain(
        `y.dt < CAST(current_date - INTERVAL '365' DAY AS varchar)`,
      );
      expect(() => q.render(ATHENA, undefined, { retentionDays: 0 })).toThrow(/retentionDays/);
    });
  });
});
