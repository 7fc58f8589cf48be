/**
 * Log sequence numbers as 64-bit integers. They arrive in two spellings (`0/4F52CB8` and
 * `00000000/04F52CB8`), so they are never compared as strings.
 */

export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`${JSON.stringify(text)} is not an LSN such as 0/4F52CB8`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** PostgreSQL's own spelling: upper-case hex halves without padding, `16/B374D848`. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
