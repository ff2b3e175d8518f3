import * as glue from 'aws-cdk-lib/aws-glue';

const PRIMITIVES: Record<string, glue.Type> = {
  string: glue.Schema.STRING,
  int: glue.Schema.INTEGER,
  bigint: glue.Schema.BIG_INT,
  smallint: glue.Schema.SMALL_INT,
  tinyint: glue.Schema.TINY_INT,
  double: glue.Schema.DOUBLE,
  float: glue.Schema.FLOAT,
  boolean: glue.Schema.BOOLEAN,
  date: glue.Schema.DATE,
  timestamp: glue.Schema.TIMESTAMP,
  binary: glue.Schema.BINARY,
};

export class GlueTypeError extends Error {
  override readonly name = 'GlueTypeError';
}

/**
 * Parses a Hive type string as Glue stores it (`array<struct<name:string,id:bigint>>`)
 * into a glue.Schema type, rejecting anything Athena would not read.
 */
export function parseGlueType(text: string): glue.Type {
  const parser = new Parser(text);
  const type = parser.type();
  parser.end();
  return type;
}

class Parser {
  private position = 0;

  constructor(private readonly text: string) {}

  type(): glue.Type {
    const word = this.identifier('a type name').toLowerCase();
    switch (word) {
      case 'array': {
        this.expect('<');
        const item = this.type();
        this.expect('>');
        return glue.Schema.array(item);
      }
      case 'map': {
        this.expect('<');
        const key = this.type();
        this.expect(',');
        const value = this.type();
        this.expect('>');
        return glue.Schema.map(key, value);
      }
      case 'struct': {
        this.expect('<');
        const columns: glue.Column[] = [];
        const names = new Set<string>();
        do {
          const name = this.identifier('a struct field name');
          if (names.has(name)) this.fail(`duplicate struct field "${name}"`);
          names.add(name);
          this.expect(':');
          columns.push({ name, type: this.type() });
        } while (this.accept(','));
        this.expect('>');
        return glue.Schema.struct(columns);
      }
      case 'decimal': {
        this.expect('(');
        const precision = this.integer();
        const scale = this.accept(',') ? this.integer() : undefined;
        this.expect(')');
        return glue.Schema.decimal(precision, scale);
      }
      default: {
        const primitive = PRIMITIVES[word];
        if (!primitive) this.fail(`unsupported type "${word}"`, this.position - word.length);
        return primitive;
      }
    }
  }

  end(): void {
    this.skipSpace();
    if (this.position < this.text.length) this.fail('unexpected trailing text');
  }

  private identifier(what: string): string {
    this.skipSpace();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position));
    if (!match) this.fail(`expected ${what}`);
    this.position += match[0].length;
    return match[0];
  }

  private integer(): number {
    this.skipSpace();
    const match = /^\d+/.exec(this.text.slice(this.position));
    if (!match) this.fail('expected a number');
    this.position += match[0].length;
    return Number(match[0]);
  }

  private accept(token: string): boolean {
    this.skipSpace();
    if (!this.text.startsWith(token, this.position)) return false;
    this.position += token.length;
    return true;
  }

  private expect(token: string): void {
    if (!this.accept(token)) this.fail(`expected "${token}"`);
  }

  private skipSpace(): void {
    while (this.text[this.position] === ' ') this.position += 1;
  }

  private fail(problem: string, at = this.position): never {
    throw new GlueTypeError(`Invalid Glue type "${this.text}": ${problem} at offset ${at}`);
  }
}
