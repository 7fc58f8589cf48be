import { filterProblem, matches } from './condition';
import { endpointProblem } from './endpoint-url';
import { classifyResponse, nextAttemptDelayMs, retryAfterMs } from './outcome';
import type { WebhookPayload } from './payload';
import { SecretBox } from './secret-box';

describe('endpoint URLs', () => {
  it.each([
    ['https://hooks.example.com/pipeline', undefined],
    ['http://127.0.0.1:8080/hook', undefined],
    ['http://localhost:8080/hook', undefined],
    ['http://[::1]:8080/hook', undefined],
    ['http://hooks.example.com/pipeline', 'http:// is refused: use https:// (http:// only on loopback, for local receivers)'],
    ['ftp://hooks.example.com', 'ftp:// is refused: use https:// (http:// only on loopback, for local receivers)'],
    [
      'https://10.0.0.5/hook',
      '10.0.0.5 is a private or link-local address: refused unless WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is true (an endpoint inside your network)',
    ],
    [
      'https://169.254.169.254/latest/meta-data',
      '169.254.169.254 is a private or link-local address: refused unless WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is true (an endpoint inside your network)',
    ],
    [
      'https://192.168.1.20/hook',
      '192.168.1.20 is a private or link-local address: refused unless WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is true (an endpoint inside your network)',
    ],
    [
      'https://[fd00::1]/hook',
      'fd00::1 is a private or link-local address: refused unless WEBHOOK_ALLOW_PRIVATE_ENDPOINTS is true (an endpoint inside your network)',
    ],
    [
      'https://user:pw@hooks.example.com/',
      'credentials in the URL would be sent in clear to every redirect and log: put them nowhere, the signature authenticates us',
    ],
    ['not a url', 'not a URL: "not a url"'],
  ])('%s', (url, problem) => {
    expect(endpointProblem(url)).toBe(problem);
  });

  it('allows a private endpoint when configured to', () => {
    expect(endpointProblem('https://10.0.0.5/hook', { allowPrivate: true })).toBeUndefined();
  });
});

describe('the verdict on an answer, and the backoff', () => {
  const now = Date.parse('2026-12-04T10:00:00Z');
  it.each([
    [200, null, { kind: 'delivered' }],
    [204, null, { kind: 'delivered' }],
    [500, null, { kind: 'retry', reason: 'HTTP 500' }],
    [503, '7', { kind: 'retry', reason: 'HTTP 503', retryAfterMs: 7000 }],
    [429, 'Fri, 04 Dec 2026 10:00:30 GMT', { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 30_000 }],
    [408, null, { kind: 'retry', reason: 'HTTP 408' }],
    [410, null, { kind: 'disable', reason: '410 Gone: the receiver asked to stop' }],
    [400, null, { kind: 'dead', reason: 'HTTP 400' }],
    [404, null, { kind: 'dead', reason: 'HTTP 404' }],
    [301, null, { kind: 'dead', reason: 'HTTP 301: redirects are not followed (point the subscription at the final URL)' }],
  ])('%i (Retry-After %s)', (status, retryAfter, verdict) => {
    expect(classifyResponse(status, retryAfter, now)).toEqual(verdict);
  });

  it('reads Retry-After as seconds or as a date, and ignores what it cannot read', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Fri, 04 Dec 2026 09:59:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  it('doubles from the base up to the cap, jittered within the upper half, never before Retry-After', () => {
    const options = { baseMs: 1000, maxMs: 60_000 };
    expect(nextAttemptDelayMs(1, { ...options, random: () => 0 })).toBe(500);
    expect(nextAttemptDelayMs(1, { ...options, random: () => 0.999 })).toBe(999);
    expect(nextAttemptDelayMs(4, { ...options, random: () => 0 })).toBe(4000);
    expect(nextAttemptDelayMs(20, { ...options, random: () => 0.999 })).toBe(59_970);
    expect(nextAttemptDelayMs(1, { ...options, retryAfterMs: 30_000, random: () => 0.5 })).toBe(30_000);
  });
});

describe('subscription filters', () => {
  const update = (before: Record<string, unknown>, after: Record<string, unknown>, table = 'orders'): WebhookPayload => ({
    type: 'UPDATE',
    table,
    schema: 'public',
    record: after,
    old_record: before,
    event_id: 'e',
    commit_timestamp: 't',
  });
  const statusChanged = { tables: ['public.orders'], operations: [], changedColumns: ['status'] };

  it('"orders whose status changed" takes only updates that change the status', () => {
    expect(matches(statusChanged, update({ status: 'pending', total: '1' }, { status: 'confirmed', total: '1' }))).toBe(true);
    expect(matches(statusChanged, update({ status: 'pending', total: '1' }, { status: 'pending', total: '2' }))).toBe(false);
    expect(matches(statusChanged, { ...update({}, { status: 'pending' }), type: 'INSERT', old_record: null })).toBe(false);
    expect(matches(statusChanged, update({ status: 'a' }, { status: 'b' }, 'inventory'))).toBe(false);
  });

  it('filters by table and operation', () => {
    const inserts = { tables: ['public.orders'], operations: ['INSERT' as const], changedColumns: [] };
    expect(matches(inserts, { ...update({}, { id: 1 }), type: 'INSERT', old_record: null })).toBe(true);
    expect(matches(inserts, update({ id: 1 }, { id: 1 }))).toBe(false);
  });

  it('refuses a "changed" condition on a table without the old row in full', () => {
    expect(filterProblem(statusChanged)).toBeUndefined();
    expect(filterProblem({ tables: ['public.customers'], operations: [], changedColumns: ['email'] })).toBe(
      'a "changed" condition needs the old row, which only tables with REPLICA IDENTITY FULL carry (public.orders, public.inventory, public.opportunities); not public.customers',
    );
    expect(filterProblem({ tables: [], operations: [], changedColumns: [] })).toBe('name at least one table (schema.table)');
  });
});

describe('sealed secrets', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  it('opens what it sealed, with the same key only', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('whsec_abc');
    expect(sealed).toMatch(/^v1:/);
    expect(sealed).not.toContain('whsec_abc');
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(() => new SecretBox(Buffer.alloc(32, 8).toString('base64')).open(sealed)).toThrow(
      'a webhook secret does not open with WEBHOOK_SECRETS_KEY: is it the key the secrets were sealed with?',
    );
    expect(() => new SecretBox('c2hvcnQ=')).toThrow('WEBHOOK_SECRETS_KEY must be 32 bytes in base64 (`openssl rand -base64 32`)');
  });
});
