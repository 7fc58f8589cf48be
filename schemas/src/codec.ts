import type avro from 'avsc';
import type { ParsedSchema } from './avro';
import { parseDecimal } from './decimal';
import { InvalidValueError, NotSingleObjectError, UndecodableError } from './errors';
import { type Fingerprint, fingerprintFromBytes } from './fingerprint';
import { DecimalType, TimestampMicrosType } from './logical-types';
import { parseTimestampMicros } from './timestamp';

/** Avro single-object encoding: C3 01, the writer schema's 8-byte fingerprint (little-endian), the body. */
export const SINGLE_OBJECT_MARKER = Buffer.from([0xc3, 0x01]);
export const SINGLE_OBJECT_HEADER_BYTES = 10;

/** Why `value` does not fit `type`, one line per offending path. */
export function explainInvalid(type: avro.Type, value: unknown): string[] {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[], any: unknown, at: avro.Type) => {
      const where = path.length > 0 ? path.join('.') : '(value)';
      problems.push(`${where}: ${reason(at, any)}`);
    },
  });
  return problems;
}

function reason(type: avro.Type, value: unknown): string {
  try {
    if (type instanceof DecimalType) parseDecimal(String(value), type.precision, type.scale);
    if (type instanceof TimestampMicrosType) parseTimestampMicros(String(value));
  } catch (error) {
    return (error as Error).message;
  }
  const shown = value === undefined ? 'undefined (missing)' : JSON.stringify(value);
  return `${shown} is not a valid ${type.branchName ?? type.typeName}`;
}

/** Encodes `value` with `schema`; a value that does not fit says which field and why. */
export function encodeSingleObject(schema: ParsedSchema, value: unknown): Buffer {
  let body: Buffer;
  try {
    body = schema.type.toBuffer(value);
  } catch (error) {
    // Validation walks the value a second time: only worth it to explain a failure.
    const problems = explainInvalid(schema.type, value);
    throw new InvalidValueError(schema.name, problems.length > 0 ? problems : [(error as Error).message]);
  }
  const bytes = Buffer.allocUnsafe(SINGLE_OBJECT_HEADER_BYTES + body.length);
  SINGLE_OBJECT_MARKER.copy(bytes, 0);
  schema.fingerprint.bytes.copy(bytes, 2);
  body.copy(bytes, SINGLE_OBJECT_HEADER_BYTES);
  return bytes;
}

/** Splits a message into the writer's fingerprint and the body; bytes of any other shape are rejected. */
export function readSingleObjectHeader(bytes: Buffer | null | undefined): { fingerprint: Fingerprint; body: Buffer } {
  if (!bytes || bytes.length === 0) throw new NotSingleObjectError('empty message: expected Avro single-object encoding (C3 01 …)');
  if (bytes.length < SINGLE_OBJECT_HEADER_BYTES) {
    throw new NotSingleObjectError(
      `message is ${bytes.length} bytes, shorter than the ${SINGLE_OBJECT_HEADER_BYTES}-byte Avro single-object header`,
    );
  }
  if (bytes[0] !== 0xc3 || bytes[1] !== 0x01) {
    const first = bytes
      .subarray(0, 2)
      .toString('hex')
      .replace(/(..)(..)/, '$1 $2');
    const hint =
      bytes[0] === 0x7b || bytes[0] === 0x5b ? ' (it looks like JSON)' : bytes[0] === 0 ? ' (a Confluent wire-format header?)' : '';
    throw new NotSingleObjectError(`message starts with ${first}, not the Avro single-object marker c3 01${hint}`);
  }
  return {
    fingerprint: fingerprintFromBytes(bytes.subarray(2, SINGLE_OBJECT_HEADER_BYTES)),
    body: bytes.subarray(SINGLE_OBJECT_HEADER_BYTES),
  };
}

/** Finds the writer schema of a fingerprint (bundled, then published); throws UnknownSchemaError. */
export type WriterSchemaSource = (fingerprint: Fingerprint) => Promise<ParsedSchema>;

/**
 * Decodes single-object messages with the consumer's own reader schema, resolving each writer
 * schema by fingerprint (schema evolution: added fields with defaults, removed fields, promotions).
 */
export class SingleObjectDecoder {
  /** By reader Type instance (avsc only accepts a resolver made by that very instance), then writer fingerprint. */
  private readonly resolvers = new WeakMap<avro.Type, Map<string, avro.Resolver>>();

  constructor(private readonly writers: WriterSchemaSource) {}

  async decode<T>(bytes: Buffer | null | undefined, reader: ParsedSchema): Promise<T> {
    const { fingerprint, body } = readSingleObjectHeader(bytes);
    return this.decodeBody<T>(body, await this.writers(fingerprint), reader);
  }

  /** The body after the header, written with `writer` (already resolved from its fingerprint), read as `reader`. */
  decodeBody<T>(body: Buffer, writer: ParsedSchema, reader: ParsedSchema): T {
    // The same schema needs no resolution: avsc reads it directly. (One fingerprint never stands for
    // two schemas differing in logical types: SchemaCatalog refuses the second.)
    const resolver = reader.fingerprint.hex === writer.fingerprint.hex ? undefined : this.resolver(reader, writer);
    try {
      return reader.type.fromBuffer(body, resolver) as T;
    } catch (error) {
      throw new UndecodableError(
        `body does not decode as ${writer.name} (fingerprint ${writer.fingerprint.hex}): ${(error as Error).message}`,
        error,
      );
    }
  }

  private resolver(reader: ParsedSchema, writer: ParsedSchema): avro.Resolver {
    let byWriter = this.resolvers.get(reader.type);
    if (!byWriter) {
      byWriter = new Map();
      this.resolvers.set(reader.type, byWriter);
    }
    let resolver = byWriter.get(writer.fingerprint.hex);
    if (!resolver) {
      try {
        resolver = reader.type.createResolver(writer.type);
      } catch (error) {
        throw new UndecodableError(
          `reader schema ${reader.name} cannot read data written with ${writer.name} (fingerprint ${writer.fingerprint.hex}): ${(error as Error).message}`,
          error,
        );
      }
      byWriter.set(writer.fingerprint.hex, resolver);
    }
    return resolver;
  }
}
