import { readFileSync } from 'node:fs';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArchiverApp, STACK_NAME } from '#infra/archiver-app.ts';
import { CONTEXT_KEY } from '#infra/config.ts';
import { NAMED_QUERIES } from '#lake/named-queries.ts';
import { ALARMS_TO } from '#test/support/alarm-target.ts';

/**
 * Trino expands `UNNEST(array of ROW)` into one column per field of the row, so an alias list
 * `AS t (a, b)` must name exactly that many columns (MISMATCHED_COLUMN_ALIASES otherwise); an
 * array of a scalar gives one column, a map two (trino.io, SELECT, "UNNEST"). Neither DuckDB
 * nor a grammar check sees a wrong count, so this test resolves each UNNEST argument of every
 * saved query, as synthesized, against the Glue column types of the synthesized tables.
 */

/** A Hive type as Glue stores it, parsed just enough to count what UNNEST yields. */
type HiveType =
  | { kind: 'scalar'; name: string }
  | { kind: 'array'; element: HiveType }
  | { kind: 'map' }
  | { kind: 'struct'; fields: string[] };

function parseHiveType(text: string): HiveType {
  let at = 0;
  const word = () => {
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at));
    if (!match) throw new Error(`no type name at ${at} of ${text}`);
    at += match[0].length;
    return match[0];
  };
  const skip = (token: string) => {
    if (text[at] !== token) throw new Error(`expected ${token} at ${at} of ${text}`);
    at += 1;
  };
  const type = (): HiveType => {
    const name = word().toLowerCase();
    if (name === 'array') {
      skip('<');
      const element = type();
      skip('>');
      return { kind: 'array', element };
    }
    if (name === 'map') {
      skip('<');
      type();
      skip(',');
      type();
      skip('>');
      return { kind: 'map' };
    }
    if (name === 'struct') {
      skip('<');
      const fields: string[] = [];
      for (;;) {
        fields.push(word());
        skip(':');
        type();
        if (text[at] === '>') break;
        skip(',');
      }
      skip('>');
      return { kind: 'struct', fields };
    }
    return { kind: 'scalar', name };
  };
  const parsed = type();
  if (at !== text.length) throw new Error(`trailing text in ${text}`);
  return parsed;
}

/** `ROW(key varchar, value varchar)` → a struct with those field names (top level only). */
function rowTypeFields(text: string): string[] {
  const inner = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  return splitTopLevel(inner).map((field) => field.trim().split(/\s+/)[0]!.replaceAll('"', ''));
}

function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '<') depth++;
    else if (ch === ')' || ch === '>') depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The text of the parenthesised group that opens at `open`. */
function group(sql: string, open: number): string {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    if (sql[i] === '(') depth++;
    else if (sql[i] === ')' && --depth === 0) return sql.slice(open + 1, i);
  }
  throw new Error(`unbalanced parentheses from ${open}`);
}

interface UnnestUse {
  args: string[];
  aliases: string[];
  ordinality: boolean;
}

/** Every `UNNEST(args) [WITH ORDINALITY] AS t (aliases)` of a query; an UNNEST without an alias list yields none. */
function unnestUses(sql: string): UnnestUse[] {
  const uses: UnnestUse[] = [];
  for (const match of sql.matchAll(/\bUNNEST\s*\(/gi)) {
    const open = match.index + match[0].length - 1;
    const args = group(sql, open);
    const rest = sql.slice(open + args.length + 2);
    const alias = /^\s*(WITH\s+ORDINALITY\s+)?(?:AS\s+)?[A-Za-z_]\w*\s*\(([^)]*)\)/i.exec(rest);
    if (!alias) continue;
    uses.push({
      args: splitTopLevel(args).map((a) => a.trim()),
      aliases: alias[2]!.split(',').map((a) => a.trim()),
      ordinality: alias[1] !== undefined,
    });
  }
  return uses;
}

const stripAlias = (expr: string) => expr.replace(/^[A-Za-z_]\w*\./, '').replaceAll('"', '');

/**
 * The Glue type of one UNNEST argument: a column of a table the query reads, or a column the
 * query derives with `CASE … END AS name`, whose every branch (a column, or a transform that
 * casts each element to a ROW) must have the same number of fields.
 */
function argumentType(sql: string, arg: string, columns: Map<string, string>): HiveType {
  // sequence(date, date, INTERVAL '1' DAY) is array(date): one column (day_completeness's calendar).
  if (/^sequence\s*\(\s*CAST\(.* AS date\)/i.test(arg))
    return { kind: 'array', element: { kind: 'scalar', name: 'date' } };
  const name = stripAlias(arg);
  const column = columns.get(name);
  if (column) return parseHiveType(column);
  const derived = new RegExp(`CASE\\b([\\s\\S]*?)\\bEND\\s+AS\\s+${name}\\b`, 'i').exec(sql);
  if (!derived) throw new Error(`cannot resolve the type of UNNEST(${arg})`);
  const branches = derived[1]!
    .split(/\bTHEN\b|\bELSE\b/i)
    .slice(1)
    .map((b) => b.replace(/\bWHEN\b[\s\S]*$/i, '').trim());
  const types = branches.map((branch): HiveType => {
    const cast = /\bAS\s+(ROW\s*\([\s\S]*\))\s*\)\s*\)\s*$/i.exec(branch);
    if (/^transform\s*\(/i.test(branch) && cast) {
      return { kind: 'array', element: { kind: 'struct', fields: rowTypeFields(cast[1]!) } };
    }
    const branchColumn = columns.get(stripAlias(branch));
    if (!branchColumn) throw new Error(`cannot resolve the type of ${branch} (branch of ${name})`);
    return parseHiveType(branchColumn);
  });
  const shapes = new Set(types.map((t) => JSON.stringify(t)));
  if (shapes.size !== 1) throw new Error(`the branches of ${name} have different types: ${[...shapes].join(' / ')}`);
  return types[0]!;
}

/** How many columns Trino's UNNEST yields for an argument of this type. */
function unnestWidth(type: HiveType): number {
  if (type.kind === 'map') return 2;
  if (type.kind !== 'array') throw new Error(`UNNEST of a ${type.kind}`);
  return type.element.kind === 'struct' ? type.element.fields.length : 1;
}

/** Problems of one query's UNNEST alias lists, empty when Trino accepts every one. */
function unnestProblems(sql: string, columns: Map<string, string>): string[] {
  return unnestUses(sql).flatMap(({ args, aliases, ordinality }) => {
    const types = args.map((arg) => argumentType(sql, arg, columns));
    const width = types.reduce((sum, t) => sum + unnestWidth(t), ordinality ? 1 : 0);
    const problems: string[] = [];
    if (aliases.length !== width) {
      problems.push(`UNNEST(${args.join(', ')}) yields ${width} columns, the alias list names ${aliases.length}`);
    }
    const names = types.flatMap((t) => (t.kind === 'array' && t.element.kind === 'struct' ? t.element.fields : []));
    if (args.length === 1 && names.length > 0 && aliases.length === width) {
      const given = aliases.slice(0, names.length).map((a) => a.replaceAll('"', '').toLowerCase());
      if (given.join() !== names.map((n) => n.toLowerCase()).join()) {
        problems.push(`UNNEST(${args[0]}) aliases (${given.join(', ')}) are not the fields (${names.join(', ')})`);
      }
    }
    return problems;
  });
}

interface GlueTable {
  name: string;
  columns: Map<string, string>;
}

let tables: GlueTable[];
let savedQueries: { name: string; sql: string }[];

beforeAll(() => {
  const { app } = createArchiverApp({ nag: false, context: { [CONTEXT_KEY]: { ...ALARMS_TO } } });
  const template = Template.fromJSON(app.synth().getStackByName(STACK_NAME).template);
  tables = Object.values(template.findResources('AWS::Glue::Table')).map((resource) => {
    const input = resource.Properties.TableInput;
    const columns = [...input.StorageDescriptor.Columns, ...(input.PartitionKeys ?? [])];
    return { name: input.Name, columns: new Map(columns.map((c: { Name: string; Type: string }) => [c.Name, c.Type])) };
  });
  savedQueries = Object.values(template.findResources('AWS::Athena::NamedQuery')).map((resource) => ({
    name: resource.Properties.Name,
    sql: resource.Properties.QueryString,
  }));
}, 60_000);

/** The columns of the tables a query reads (FROM / JOIN), merged. */
function columnsRead(sql: string): Map<string, string> {
  const read = tables.filter((t) => new RegExp(`\\b(?:FROM|JOIN)\\s+${t.name}\\b`, 'i').test(sql));
  return new Map(read.flatMap((t) => [...t.columns]));
}

describe('UNNEST alias lists of the saved Athena queries match the Glue column types', () => {
  it('synthesizes every named query and the tables they read', () => {
    expect(savedQueries.map((q) => q.name).sort()).toEqual(NAMED_QUERIES.map((q) => q.name).sort());
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['chats', 'chat_threads']));
  });

  it('finds the UNNESTs of the saved queries, goals_reached among them', () => {
    const unnesting = savedQueries.filter((q) => unnestUses(q.sql).length > 0).map((q) => q.name);
    expect(unnesting).toEqual(
      expect.arrayContaining(['goals_reached', 'chats_per_agent_per_day', 'chats_with_variable']),
    );
  });

  it.each(NAMED_QUERIES.map((q) => [q.name] as const))('%s: every UNNEST alias list names every field', (name) => {
    const { sql } = savedQueries.find((q) => q.name === name)!;
    expect(unnestProblems(sql, columnsRead(sql))).toEqual([]);
  });

  it('fails the 2-column alias list goals_reached had (goals is an array of a 6-field struct)', () => {
    const old = savedQueries
      .find((q) => q.name === 'goals_reached')!
      .sql.replace(/UNNEST\(c\.goals\) AS g \([^)]*\)/, 'UNNEST(c.goals) AS g (id, name)');
    expect(unnestProblems(old, columnsRead(old))).toEqual(['UNNEST(c.goals) yields 6 columns, the alias list names 2']);
  });

  it('fails aliases in another order than the fields, and a derived column whose branches differ', () => {
    const agents = savedQueries.find((q) => q.name === 'chats_per_agent_per_day')!.sql;
    const swapped = agents.replace('AS a (display_name, email)', 'AS a (email, display_name)');
    expect(unnestProblems(swapped, columnsRead(swapped))).toHaveLength(1);
    const variables = savedQueries.find((q) => q.name === 'chats_with_variable')!.sql;
    const mixed = variables.replace('ELSE l.integration_variables', 'ELSE l.prechat_survey');
    expect(() => unnestProblems(mixed, columnsRead(mixed))).toThrow(/different types/);
  });
});

describe('the Trino review beside the named queries', () => {
  it('reviews every named query', () => {
    const review = readFileSync(new URL('../../functions/lake/named-queries.trino-review.md', import.meta.url), 'utf8');
    const reviewed = [...review.matchAll(/^\*\*([a-z_]+)\.\*\*/gm)].map((m) => m[1]);
    expect(reviewed.sort()).toEqual(NAMED_QUERIES.map((q) => q.name).sort());
  });
});
