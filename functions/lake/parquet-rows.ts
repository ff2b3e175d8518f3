/**
 * The row count a Parquet file's footer states, read without a Parquet library (the compactor
 * Lambda has none): the file ends with its FileMetaData (Thrift compact protocol), the metadata's
 * length (4 bytes, little-endian) and `PAR1`; FileMetaData's field 3 is `num_rows` (i64), after
 * field 1 `version` (i32) and field 2 `schema` (a list of structs, skipped). Format:
 * apache/parquet-format `parquet.thrift` and Thrift's compact protocol specification.
 */
export function parquetRowCount(file: Uint8Array): number {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (bytes.length < 12 || bytes.toString('latin1', bytes.length - 4) !== 'PAR1') throw new Error('not a Parquet file');
  const length = bytes.readUInt32LE(bytes.length - 8);
  const reader = new CompactReader(bytes.subarray(bytes.length - 8 - length, bytes.length - 8));
  let field = 0;
  for (;;) {
    const header = reader.byte();
    const type = header & 0x0f;
    if (type === STOP) break;
    const delta = header >> 4;
    field = delta ? field + delta : Number(zigzag(reader.varint()));
    if (field === 3 && type === I64) return Number(zigzag(reader.varint()));
    reader.skip(type);
  }
  throw new Error('Parquet footer without num_rows');
}

const STOP = 0;
const [TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
];

const zigzag = (n: bigint) => (n >> 1n) ^ -(n & 1n);

class CompactReader {
  private at = 0;
  constructor(private readonly bytes: Buffer) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error('Parquet footer cut short');
    return this.bytes[this.at++]!;
  }

  varint(): bigint {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.byte();
      value |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
  }

  skip(type: number): void {
    switch (type) {
      case TRUE:
      case FALSE:
        return; // a field's boolean is in its header
      case BYTE:
        this.byte();
        return;
      case I16:
      case I32:
      case I64:
        this.varint();
        return;
      case DOUBLE:
        this.at += 8;
        return;
      case BINARY: {
        const length = Number(this.varint()); // read before `this.at` is: the varint moves it
        this.at += length;
        return;
      }
      case LIST:
      case SET: {
        const header = this.byte();
        const size = header >> 4 === 15 ? Number(this.varint()) : header >> 4;
        for (let i = 0; i < size; i += 1) this.element(header & 0x0f);
        return;
      }
      case MAP: {
        const size = Number(this.varint());
        if (size === 0) return;
        const types = this.byte();
        for (let i = 0; i < size; i += 1) {
          this.element(types >> 4);
          this.element(types & 0x0f);
        }
        return;
      }
      case STRUCT:
        for (;;) {
          const header = this.byte();
          if ((header & 0x0f) === STOP) return;
          if (!(header >> 4)) this.varint(); // a field id that does not fit the delta
          this.skip(header & 0x0f);
        }
      default:
        throw new Error(`Parquet footer: unknown Thrift type ${type}`);
    }
  }

  /** A list, set or map element: a boolean is a byte of its own there. */
  private element(type: number): void {
    if (type === TRUE || type === FALSE) this.byte();
    else this.skip(type);
  }
}
