import { parsingCanonicalForm } from './canonical';

const MASK = (1n << 64n) - 1n;
/** CRC-64-AVRO's starting value: the fingerprint of the empty string (Avro specification). */
export const EMPTY_FINGERPRINT = 0xc15d213aa4d7a795n;

const TABLE: bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY_FINGERPRINT & -(fp & 1n) & MASK);
    table.push(fp);
  }
  return table;
})();

/** The 64-bit Rabin fingerprint (CRC-64-AVRO) of `bytes`, as an unsigned 64-bit integer. */
export function rabin64(bytes: Uint8Array): bigint {
  let fp = EMPTY_FINGERPRINT;
  for (const byte of bytes) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  return fp;
}

/** A schema's identity in the single-object encoding. */
export interface Fingerprint {
  /** As Java's `SchemaNormalization.parsingFingerprint64` returns it (a signed long). */
  readonly long: bigint;
  /** The 8 bytes written after the C3 01 marker: little-endian. */
  readonly bytes: Buffer;
  /** Those 8 bytes in hex: the key of the schema in `_pipeline.schemas`, and how errors name it. */
  readonly hex: string;
}

export function fingerprintFromBytes(bytes: Buffer): Fingerprint {
  if (bytes.length !== 8) throw new Error(`a fingerprint is 8 bytes, got ${bytes.length}`);
  return { long: bytes.readBigInt64LE(0), bytes: Buffer.from(bytes), hex: bytes.toString('hex') };
}

/** The fingerprint of a schema (any JSON form: it is reduced to Parsing Canonical Form first). */
export function fingerprintOf(schema: unknown): Fingerprint {
  const unsigned = rabin64(Buffer.from(parsingCanonicalForm(schema), 'utf8'));
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(unsigned);
  return fingerprintFromBytes(bytes);
}
