/**
 * Timestamps with microseconds: Avro `timestamp-micros` (a long of microseconds since the epoch),
 * in TypeScript an RFC 3339 string in UTC with exactly six fractional digits,
 * "2026-11-29T17:35:04.123456Z". JavaScript's Date keeps only milliseconds, and a number holds
 * microseconds exactly only from 1685 to 2255, so the arithmetic is done in bigint: PostgreSQL's
 * sentinel dates (0001-01-01, 9999-12-31) survive.
 */

const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** Parses RFC 3339 (or PostgreSQL's text form: a space, an offset such as +00) into microseconds since the epoch. */
export function parseTimestampMicros(text: string): bigint {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) {
    throw new Error(`${JSON.stringify(text)} is not a timestamp such as 2026-11-29T17:35:04.123456Z`);
  }
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
  const y = Number(year);
  let date: Date;
  if (y >= 100) {
    date = new Date(Date.UTC(y, Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  } else {
    // Date.UTC reads years 0–99 as 1900–1999.
    date = new Date(0);
    date.setUTCFullYear(y, Number(month) - 1, Number(day));
    date.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  }
  const valid =
    date.getUTCDate() === Number(day) &&
    date.getUTCMonth() === Number(month) - 1 &&
    Number(hour) <= 23 &&
    Number(minute) <= 59 &&
    Number(second) <= 59;
  if (!valid) throw new Error(`${text} is not a calendar date and time`);
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  const ms = BigInt(date.getTime()) - BigInt(offsetMinutes) * 60_000n;
  return ms * 1000n + BigInt(fraction.padEnd(6, '0'));
}

/** Microseconds since the epoch → "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
export function formatTimestampMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let subMs = micros % 1000n;
  if (subMs < 0n) {
    // bigint division truncates toward zero; the calendar needs the floor.
    ms -= 1n;
    subMs += 1000n;
  }
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) throw new Error(`${micros} microseconds is outside the calendar JavaScript can show`);
  const iso = date.toISOString();
  // toISOString ends ".mmmZ": keep the milliseconds, append the remaining three digits.
  return `${iso.slice(0, -1)}${String(subMs).padStart(3, '0')}Z`;
}
