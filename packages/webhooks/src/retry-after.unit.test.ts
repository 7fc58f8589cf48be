import fc from 'fast-check';
import { parseHttpDate, retryAfterMs } from './retry-after';

const now = Date.parse('2026-12-04T10:00:00Z');
const CAP = 600_000;

describe('Retry-After (RFC 9110 10.2.3)', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 7 ', 7_000],
    ['600', 600_000],
    ['2'.padStart(70, '0'), 2_000],
    ['601', CAP],
    ['9999999999999', CAP],
    ['9'.repeat(400), CAP],
    ['Fri, 04 Dec 2026 10:00:30 GMT', 30_000],
    ['Fri, 04 Dec 2026 09:59:00 GMT', 0],
    ['Thu, 01 Jan 2099 00:00:00 GMT', CAP],
    ['Friday, 04-Dec-26 10:01:00 GMT', 60_000],
    ['Fri Dec  4 10:00:05 2026', 5_000],
    ['Fri Dec 14 10:00:05 2026', CAP],
    ['Fri, 04 Dec 2026 10:00:60 GMT', 60_000],
  ])('%j waits %d ms', (header, ms) => {
    expect(retryAfterMs(header, now, CAP)).toBe(ms);
  });

  it.each([
    ['-5'],
    ['1.5'],
    ['+3'],
    ['1e3'],
    ['0x10'],
    ['soon'],
    [''],
    ['  '],
    ['Fri, 31 Feb 2026 10:00:00 GMT'],
    ['Fri, 04 Dec 2026 25:00:00 GMT'],
    ['Fri, 04 Dec 2026 10:00:00 UTC'],
    ['Fri, 04 Dec 2026 10:00:00 +0000'],
    ['2026-12-04T10:00:30Z'],
    ['Fri, 4 Dec 2026 10:00:30 GMT'],
    ['tomorrow'],
    ['Infinity'],
    ['NaN'],
    ['120, 60'],
  ])('ignores %j (the normal backoff applies)', (header) => {
    expect(retryAfterMs(header, now, CAP)).toBeUndefined();
  });

  it('ignores an absent header', () => {
    expect(retryAfterMs(null, now, CAP)).toBeUndefined();
    expect(retryAfterMs(undefined, now, CAP)).toBeUndefined();
  });

  it('reads an RFC 850 year more than 50 years ahead as the past century', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(Date.parse('1994-11-06T08:49:37Z'));
    expect(parseHttpDate('Sunday, 06-Nov-70 08:49:37 GMT', now)).toBe(Date.parse('2070-11-06T08:49:37Z'));
    expect(parseHttpDate('Sunday, 06-Nov-77 08:49:37 GMT', now)).toBe(Date.parse('1977-11-06T08:49:37Z'));
  });

  it('never yields anything but a whole delay between 0 and the cap, whatever the header', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[0-9 ]{0,30}$/), fc.string({ unit: 'binary' })),
        fc.integer({ min: 1, max: 7 * 86_400_000 }),
        (header, cap) => {
          const ms = retryAfterMs(header, now, cap);
          if (ms !== undefined) {
            expect(Number.isFinite(ms)).toBe(true);
            expect(ms).toBeGreaterThanOrEqual(0);
            expect(ms).toBeLessThanOrEqual(cap);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('reads every delay-seconds value exactly, capped', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 12 }), (seconds) => {
        expect(retryAfterMs(String(seconds), now, CAP)).toBe(Math.min(seconds * 1000, CAP));
      }),
    );
  });

  it('reads every IMF-fixdate (what Date#toUTCString writes) to the second', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        (date) => {
          const whole = Math.floor(date.getTime() / 1000) * 1000;
          expect(parseHttpDate(new Date(whole).toUTCString(), now)).toBe(whole);
          expect(retryAfterMs(new Date(whole).toUTCString(), now, CAP)).toBe(Math.min(CAP, Math.max(0, whole - now)));
        },
      ),
    );
  });
});
