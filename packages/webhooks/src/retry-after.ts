/**
 * `Retry-After` as RFC 9110 (section 10.2.3) defines it: `delay-seconds` (digits only) or an
 * `HTTP-date` in one of its three formats (IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms, all in GMT). Anything else (a negative number, a fraction, garbage, a date that does not
 * exist) is ignored: the caller then uses its normal backoff. A receiver's answer never yields a
 * delay above `maxMs`, NaN or Infinity.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994` */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** Milliseconds since the epoch of a valid date and time, or undefined (31 February, 25:00 …). */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number | undefined {
  // 60 is a leap second; Date has none, so it counts as the next minute's first.
  if (hour > 23 || minute > 59 || second > 60 || day < 1) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second);
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  return ms;
}

/**
 * An RFC 850 two-digit year: RFC 9110 says a year that looks more than 50 years in the future is
 * the most recent past year with those last two digits.
 */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

/** An HTTP-date as milliseconds since the epoch, or undefined when it is not one. */
export function parseHttpDate(text: string, nowMs: number): number | undefined {
  const n = (s: string | undefined) => Number(s);
  const month = (name: string | undefined) => MONTHS.indexOf(name ?? '');
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(n(m[3]), month(m[2]), n(m[1]), n(m[4]), n(m[5]), n(m[6]));
  m = RFC850_DATE.exec(text);
  if (m) return utc(fullYear(n(m[3]), nowMs), month(m[2]), n(m[1]), n(m[4]), n(m[5]), n(m[6]));
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(n(m[6]), month(m[1]), n(m[2]?.trim()), n(m[3]), n(m[4]), n(m[5]));
  return undefined;
}

/**
 * How long a receiver asked us to wait, in ms from `nowMs`, at most `maxMs`; undefined when the
 * header is absent or not a valid `Retry-After` (the normal backoff applies). A date in the past
 * means 0.
 */
export function retryAfterMs(header: string | null | undefined, nowMs: number, maxMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) {
    // More digits than any cap could need are not parsed into a float that loses them: capped.
    const digits = text.replace(/^0+(?=\d)/, '');
    const seconds = digits.length > 12 ? Number.POSITIVE_INFINITY : Number(digits);
    return Math.min(seconds * 1000, maxMs);
  }
  // Every HTTP-date is 24 to 30 characters.
  if (text.length > 40) return undefined;
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return undefined;
  return Math.min(Math.max(0, at - nowMs), maxMs);
}
