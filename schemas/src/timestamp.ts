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

const MICROS_PER_DAY = 86_400_000_000;
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
/** The last day formatted ("YYYY-MM-DDT"): consecutive events mostly share it. */
let cachedDay = Number.NaN;
let cachedDate = '';

/**
 * As formatTimestampMicros, for microseconds that are a safe integer (years 1685 to 2255), without
 * bigint and with the date part kept from the previous call on the same day: a change envelope
 * holds five timestamps, and the decoder formats them for every event.
 */
export function formatTimestampMicrosNumber(micros: number): string {
  const day = Math.floor(micros / MICROS_PER_DAY);
  if (day !== cachedDay) {
    cachedDate = new Date(day * 86_400_000).toISOString().slice(0, 11);
    cachedDay = day;
  }
  let rest = micros - day * MICROS_PER_DAY;
  const hours = Math.floor(rest / 3_600_000_000);
  rest -= hours * 3_600_000_000;
  const minutes = Math.floor(rest / 60_000_000);
  rest -= minutes * 60_000_000;
  const seconds = Math.floor(rest / 1_000_000);
  const fraction = String(rest - seconds * 1_000_000).padStart(6, '0');
  return `${cachedDate}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${fraction}Z`;
}
