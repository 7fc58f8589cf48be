import avro from 'avsc';
import { formatDecimal, formatSmallDecimal, fromTwosComplement, parseDecimal, toTwosComplement } from './decimal';
import { formatTimestampMicros, formatTimestampMicrosNumber, parseTimestampMicros } from './timestamp';

// avsc's LogicalType hooks are untyped (`any`) in its declarations; these classes narrow them.

/** `bytes` + `decimal(precision, scale)` ⇄ exact decimal text. */
export class DecimalType extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const attrs = schema as { precision?: unknown; scale?: unknown };
    this.precision = Number(attrs.precision);
    this.scale = attrs.scale === undefined ? 0 : Number(attrs.scale);
    if (!Number.isInteger(this.precision) || this.precision < 1) throw new Error('decimal needs a positive integer precision');
    if (!Number.isInteger(this.scale) || this.scale < 0 || this.scale > this.precision) {
      throw new Error('decimal scale must be a whole number from 0 to its precision');
    }
  }

  protected override _fromValue(value: Buffer): string {
    // Up to 6 bytes (48 bits) a number holds the unscaled integer exactly: no bigint on the hot path.
    if (value.length > 0 && value.length <= 6) return formatSmallDecimal(value.readIntBE(0, value.length), this.scale);
    return formatDecimal(fromTwosComplement(value), this.scale);
  }

  protected override _toValue(value: unknown): Buffer {
    if (typeof value !== 'string') throw new Error('decimal values are strings');
    return toTwosComplement(parseDecimal(value, this.precision, this.scale));
  }

  protected override _resolve(writer: avro.Type): ((value: string) => string) | undefined {
    // Same scale: the unscaled integers mean the same thing. A scale change needs a new field.
    if (writer instanceof DecimalType && writer.scale === this.scale) return (value) => value;
    return undefined;
  }

  protected override _export(attrs: avro.Schema): void {
    Object.assign(attrs as object, { precision: this.precision, scale: this.scale });
  }
}

/** avsc's internal reader/writer (its `Tap`); only what the custom longs use. */
interface LongTap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  unpackLongBytes(): Buffer;
  packLongBytes(bytes: Buffer): void;
}

/**
 * Whether the zig-zag varint at the tap's position is below 2^53, so avsc's `readLong` (float
 * arithmetic) reads it exactly: at most 7 bytes, or 8 whose last carries fewer than 4 bits.
 */
function fitsInNumber(tap: LongTap): boolean {
  const { buf, pos } = tap;
  for (let i = 0; i < 8; i++) {
    const byte = buf[pos + i] ?? 0;
    if ((byte & 0x80) === 0) return i < 7 || byte < 16;
  }
  return false;
}

/**
 * `long` + `timestamp-micros` ⇄ RFC 3339 text with six fractional digits, UTC. Reads and writes the
 * long itself, in bigint, because avsc's own long refuses values past 2^53 (years before 1685 and
 * after 2255), which PostgreSQL timestamps reach.
 */
export class TimestampMicrosType extends avro.types.LogicalType {
  protected override _fromValue(value: number): string {
    return formatTimestampMicros(BigInt(value));
  }

  protected override _toValue(value: unknown): number {
    // Only reached through avsc's generic paths (copy, compare); _read/_write handle the wire.
    if (typeof value !== 'string') throw new Error('timestamp-micros values are strings');
    return Number(parseTimestampMicros(value));
  }

  _read(tap: LongTap): string {
    // Every timestamp from 1685 to 2255 fits a number: read it without a buffer or a bigint.
    if (fitsInNumber(tap)) return formatTimestampMicrosNumber(tap.readLong());
    return formatTimestampMicros(tap.unpackLongBytes().readBigInt64LE(0));
  }

  _write(tap: LongTap, value: unknown): void {
    if (typeof value !== 'string') throw new Error(`timestamp-micros values are strings, got ${typeof value}`);
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(parseTimestampMicros(value));
    tap.packLongBytes(bytes);
  }

  _check(value: unknown, _flags: unknown, hook?: (value: unknown, type: avro.Type) => void): boolean {
    let ok = typeof value === 'string';
    if (ok) {
      try {
        parseTimestampMicros(value as string);
      } catch {
        ok = false;
      }
    }
    if (!ok) hook?.(value, this);
    return ok;
  }

  override compare(a: string, b: string): number {
    const x = parseTimestampMicros(a);
    const y = parseTimestampMicros(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  protected override _resolve(writer: avro.Type): ((value: unknown) => string) | undefined {
    if (writer instanceof TimestampMicrosType) return (value) => value as string;
    if (writer.typeName === 'long') return (value) => formatTimestampMicros(BigInt(value as number));
    return undefined;
  }
}

/** The logical types this pipeline gives meaning to; others (uuid, json, timestamp-millis) read as their base type. */
export const LOGICAL_TYPES = {
  decimal: DecimalType,
  'timestamp-micros': TimestampMicrosType,
} as const;
