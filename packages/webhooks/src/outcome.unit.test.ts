import { classifyResponse, judgeAttempt, nextAttemptDelayMs } from './outcome';
import { failureOf, type SendOutcome } from './sender';

const now = Date.parse('2026-12-04T10:00:00Z');
const CAP = 600_000;

describe('the verdict on an answer', () => {
  it.each([
    [200, null, { kind: 'delivered' }],
    [204, null, { kind: 'delivered' }],
    [299, null, { kind: 'delivered' }],
    [500, null, { kind: 'retry', reason: 'HTTP 500' }],
    [599, null, { kind: 'retry', reason: 'HTTP 599' }],
    [503, '7', { kind: 'retry', reason: 'HTTP 503', retryAfterMs: 7000 }],
    [429, 'Fri, 04 Dec 2026 10:00:30 GMT', { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 30_000 }],
    // A receiver's Retry-After: huge (capped), negative, garbage, in the past
    [429, '9999999999999', { kind: 'retry', reason: 'HTTP 429', retryAfterMs: CAP }],
    [429, '-5', { kind: 'retry', reason: 'HTTP 429' }],
    [429, 'garbage', { kind: 'retry', reason: 'HTTP 429' }],
    [503, 'Thu, 01 Jan 1970 00:00:00 GMT', { kind: 'retry', reason: 'HTTP 503', retryAfterMs: 0 }],
    [503, 'Fri, 01 Jan 2100 00:00:00 GMT', { kind: 'retry', reason: 'HTTP 503', retryAfterMs: CAP }],
    [408, null, { kind: 'retry', reason: 'HTTP 408' }],
    [410, null, { kind: 'disable', reason: '410 Gone: the receiver asked to stop' }],
    [400, null, { kind: 'dead', reason: 'HTTP 400' }],
    [404, null, { kind: 'dead', reason: 'HTTP 404' }],
    [413, null, { kind: 'dead', reason: 'HTTP 413' }],
    [301, null, { kind: 'dead', reason: 'HTTP 301: redirects are not followed (point the subscription at the final URL)' }],
    // A redirect loop is a redirect: never followed, so never a loop
    [302, null, { kind: 'dead', reason: 'HTTP 302: redirects are not followed (point the subscription at the final URL)' }],
    [600, null, { kind: 'retry', reason: 'HTTP 600 is not a final status code: the receiver misbehaves' }],
    [999, null, { kind: 'retry', reason: 'HTTP 999 is not a final status code: the receiver misbehaves' }],
    [101, null, { kind: 'retry', reason: 'HTTP 101 is not a final status code: the receiver misbehaves' }],
  ])('%i (Retry-After %s)', (status, retryAfter, verdict) => {
    expect(classifyResponse(status, retryAfter, now, CAP)).toEqual(verdict);
  });
});

describe('the verdict on whatever an attempt came to', () => {
  const answered = (status: number, bodySnippet = '', retryAfter?: string): SendOutcome => ({
    kind: 'answered',
    status,
    retryAfter,
    bodySnippet,
  });
  const code = (c: string, message: string) => Object.assign(new Error(message), { code: c });

  it.each<[string, SendOutcome, { kind: string; reason?: string }, number | null, string | undefined]>([
    ['a 200 with a 100 MB body (read up to 64 KiB)', answered(200, 'x'.repeat(200)), { kind: 'delivered' }, 200, undefined],
    ['a 200 whose body trickles (cut after its time)', answered(200, 'o'), { kind: 'delivered' }, 200, undefined],
    [
      'a 500 that says why',
      answered(500, 'database down'),
      { kind: 'retry', reason: 'HTTP 500 (the receiver said: database down)' },
      500,
      '5xx',
    ],
    ['a 429', answered(429, '', 'garbage'), { kind: 'retry', reason: 'HTTP 429' }, 429, '429'],
    ['a 404', answered(404, 'no'), { kind: 'dead', reason: 'HTTP 404 (the receiver said: no)' }, 404, '4xx'],
    ['a redirect loop', answered(302), { kind: 'dead' }, 302, '4xx'],
    ['a 410', answered(410, 'bye'), { kind: 'disable', reason: '410 Gone: the receiver asked to stop' }, 410, '4xx'],
    [
      'a reset connection',
      failureOf(code('ECONNRESET', 'read ECONNRESET'), false, 10_000),
      { kind: 'retry', reason: 'ECONNRESET: read ECONNRESET' },
      null,
      'connection',
    ],
    [
      'a refused connection',
      failureOf(code('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'), false, 10_000),
      { kind: 'retry' },
      null,
      'connection',
    ],
    [
      'an invalid status line',
      failureOf(code('HPE_INVALID_STATUS', 'Parse Error: Invalid status code'), false, 10_000),
      { kind: 'retry', reason: 'not a valid HTTP answer (HPE_INVALID_STATUS: Parse Error: Invalid status code)' },
      null,
      'protocol',
    ],
    [
      '10,000 response headers',
      failureOf(code('HPE_HEADER_OVERFLOW', 'Parse Error: Header overflow'), false, 10_000),
      { kind: 'retry', reason: 'not a valid HTTP answer (HPE_HEADER_OVERFLOW: Parse Error: Header overflow)' },
      null,
      'protocol',
    ],
    [
      'no answer in time',
      failureOf(new Error('This operation was aborted'), true, 10_000),
      { kind: 'retry', reason: 'no answer within 10000 ms' },
      null,
      'timeout',
    ],
    [
      'a connection that took too long',
      failureOf(code('ETIMEDOUT', 'connect ETIMEDOUT 203.0.113.9:443'), false, 10_000),
      { kind: 'retry', reason: 'no answer within 10000 ms' },
      null,
      'timeout',
    ],
    [
      'an address the rule refuses',
      failureOf(code('ADDRESS_NOT_ALLOWED', 'address not allowed: 10.0.0.5 (private): …'), false, 10_000),
      { kind: 'dead', reason: 'address not allowed: 10.0.0.5 (private): …' },
      null,
      'address',
    ],
    [
      'an error whose message carries control characters',
      failureOf(code('ECONNRESET', 'reset\u001b[31m red\r\n'), false, 10_000),
      { kind: 'retry', reason: 'ECONNRESET: reset [31m red' },
      null,
      'connection',
    ],
  ])('%s', (_what, outcome, verdict, statusCode, failure) => {
    const judged = judgeAttempt(outcome, now, CAP);
    expect(judged.verdict).toMatchObject(verdict);
    expect(judged.statusCode).toBe(statusCode);
    expect(judged.failure).toBe(failure);
  });
});

describe('the backoff', () => {
  it('doubles from the base up to the cap, jittered within the upper half, never before Retry-After, never after the cap', () => {
    const options = { baseMs: 1000, maxMs: 60_000 };
    expect(nextAttemptDelayMs(1, { ...options, random: () => 0 })).toBe(500);
    expect(nextAttemptDelayMs(1, { ...options, random: () => 0.999 })).toBe(999);
    expect(nextAttemptDelayMs(4, { ...options, random: () => 0 })).toBe(4000);
    expect(nextAttemptDelayMs(20, { ...options, random: () => 0.999 })).toBe(59_970);
    expect(nextAttemptDelayMs(5000, { ...options, random: () => 0.999 })).toBe(59_970);
    expect(nextAttemptDelayMs(1, { ...options, retryAfterMs: 30_000, random: () => 0.5 })).toBe(30_000);
    expect(nextAttemptDelayMs(1, { ...options, retryAfterMs: 10 ** 15, random: () => 0.5 })).toBe(60_000);
  });
});
