import type { LakeField, LakeType } from '#lake/chat-columns.ts';

/** What a sample of chats says about the table: field paths only, never a value. */
export interface FieldFindings {
  /** Fields the table has no column for, e.g. `visitor.language`, `events[].message_json`. */
  unknown: string[];
  /** Fields whose value does not fit their column, e.g. `duration (int, got string)`. */
  wrongType: string[];
}

/**
 * Walks each record of `sample` against the table's columns (`CHAT_SCHEMA` for v2 chats,
 * `THREAD_SCHEMA` for raw v3.6 entries). A free-form `json` column takes any value.
 */
export function sampleFindings(sample: readonly unknown[], schema: readonly LakeField[]): FieldFindings {
  const unknown = new Set<string>();
  const wrongType = new Map<string, string>();
  const record: LakeType = { kind: 'struct', fields: schema };
  for (const item of sample) walk(item, record, '', unknown, wrongType);
  return {
    unknown: [...unknown].sort(),
    wrongType: [...wrongType].sort(([a], [b]) => a.localeCompare(b)).map(([path, what]) => `${path} (${what})`),
  };
}

function walk(value: unknown, type: LakeType, path: string, unknown: Set<string>, wrong: Map<string, string>): void {
  if (value === null || value === undefined) return;
  const misfit = (expected: string) => {
    if (!wrong.has(path)) wrong.set(path, `${expected}, got ${kindOf(value)}`);
  };
  switch (type.kind) {
    case 'json':
      return;
    case 'string':
      if (typeof value !== 'string') misfit('string');
      return;
    case 'boolean':
      if (typeof value !== 'boolean') misfit('boolean');
      return;
    case 'double':
      if (typeof value !== 'number') misfit('double');
      return;
    case 'int':
    case 'bigint':
      if (!Number.isInteger(value)) misfit(type.kind);
      return;
    case 'array':
      if (!Array.isArray(value)) return misfit('array');
      for (const item of value) walk(item, type.element, `${path}[]`, unknown, wrong);
      return;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return misfit('object');
      const columns = new Map(type.fields.map((field) => [field.name, field.type]));
      for (const [key, child] of Object.entries(value)) {
        const childPath = path ? `${path}.${key}` : key;
        const childType = columns.get(key);
        if (childType === undefined) unknown.add(childPath);
        else walk(child, childType, childPath, unknown, wrong);
      }
    }
  }
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
