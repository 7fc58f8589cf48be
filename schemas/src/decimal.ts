/**
 * Exact decimals as text: numeric columns travel as Avro `decimal` (two's-complement big-endian
 * unscaled integer in `bytes`) and surface in TypeScript as strings such as "-1234.50". No value
 * ever passes through binary floating point; a number with more fractional digits than the scale
 * is rejected, never rounded.
 */

const DECIMAL_TEXT = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** "12.3" at scale 2 → 1230n; throws for text that is not a plain decimal or that would need rounding. */
export function parseDecimal(text: string, precision: number, scale: number): bigint {
  const match = DECIMAL_TEXT.exec(text);
  if (!match) throw new Error(`${JSON.stringify(text)} is not a decimal number (digits, an optional sign and point)`);
  const [, sign, whole = '', fraction = ''] = match;
  if (fraction.length > scale) {
    throw new Error(`${text} has ${fraction.length} fractional digits, the column's scale is ${scale}: round it before writing`);
  }
  const digits = `${whole}${fraction.padEnd(scale, '0')}`.replace(/^0+(?=\d)/, '');
  const significant = digits.replace(/^0+/, '').length;
  if (significant > precision) {
    throw new Error(`${text} needs ${significant} digits, more than the column's precision ${precision}`);
  }
  const unscaled = BigInt(digits);
  return sign === '-' ? -unscaled : unscaled;
}

/** 1230n at scale 2 → "12.30": always exactly `scale` fractional digits. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** As formatDecimal, for an unscaled integer that is a safe number (the common, fast case). */
export function formatSmallDecimal(unscaled: number, scale: number): string {
  const negative = unscaled < 0;
  const digits = String(negative ? -unscaled : unscaled).padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Minimal two's-complement big-endian bytes of `value` (Avro's decimal-in-bytes encoding). */
export function toTwosComplement(value: bigint): Buffer {
  let hex = (value < 0n ? -value : value).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let length = hex.length / 2;
  // One more byte when the top bit would be read as the sign.
  const probe = BigInt.asIntN(length * 8, value);
  if (probe !== value) length += 1;
  const bytes = Buffer.alloc(length);
  let rest = BigInt.asUintN(length * 8, value);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

export function fromTwosComplement(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return BigInt.asIntN(bytes.length * 8, value);
}
