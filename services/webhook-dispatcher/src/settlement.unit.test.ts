import type { JudgedAttempt } from '@pipeline/webhooks';
import { settlementOf } from './settlement';

const delivery = { id: '7', subscriptionId: 's', eventId: 'e', attempts: 0 };
const rules = { maxAttempts: 3, backoffBaseMs: 1_000, backoffMaxMs: 60_000, random: () => 0, nowMs: Date.parse('2026-12-04T10:00:00Z') };
const judged = (verdict: JudgedAttempt['verdict'], statusCode: number | null = null): JudgedAttempt => ({
  verdict,
  statusCode,
  failure: undefined,
});

describe('what an attempt comes to in the queue', () => {
  it('delivered: recorded, nothing next', () => {
    expect(settlementOf(delivery, judged({ kind: 'delivered' }, 200), 12, rules)).toEqual({
      record: { deliveryId: '7', subscriptionId: 's', eventId: 'e', statusCode: 200, latencyMs: 12, verdict: 'delivered', error: null },
      next: {},
    });
  });

  it('retried after the backoff, no sooner than Retry-After and never later than the cap', () => {
    const first = settlementOf(delivery, judged({ kind: 'retry', reason: 'HTTP 500' }, 500), 5, rules);
    expect(first.retryInMs).toBe(500);
    expect(first.next.retryAt?.toISOString()).toBe('2026-12-04T10:00:00.500Z');
    const asked = settlementOf(delivery, judged({ kind: 'retry', reason: 'HTTP 429', retryAfterMs: 60_000 }, 429), 5, rules);
    expect(asked.retryInMs).toBe(60_000);
    expect(asked.record).toMatchObject({ verdict: 'retry', error: 'HTTP 429' });
  });

  it('dead after the last attempt, saying so', () => {
    const last = settlementOf({ ...delivery, attempts: 2 }, judged({ kind: 'retry', reason: 'HTTP 503' }, 503), 5, rules);
    expect(last).toMatchObject({
      record: { verdict: 'dead', error: 'HTTP 503 (attempt 3, the last)' },
      next: {},
      deadReason: 'HTTP 503 after 3 attempts',
    });
  });

  it('dead at once for a refused address, disabled at a 410', () => {
    const refused = settlementOf(delivery, judged({ kind: 'dead', reason: 'address not allowed: 10.0.0.5 (private)' }), 1, rules);
    expect(refused).toMatchObject({ record: { verdict: 'dead', statusCode: null }, deadReason: 'address not allowed: 10.0.0.5 (private)' });
    const gone = settlementOf(delivery, judged({ kind: 'disable', reason: '410 Gone: the receiver asked to stop' }, 410), 1, rules);
    expect(gone.next).toEqual({ disable: '410 Gone: the receiver asked to stop' });
  });

  it('keeps an error text short and printable, whatever the receiver sent', () => {
    const noisy = settlementOf(delivery, judged({ kind: 'retry', reason: `HTTP 500 \u0000\u001b[2J${'x'.repeat(5_000)}` }, 500), 1, rules);
    expect(noisy.record.error?.length).toBeLessThanOrEqual(1_001);
    expect(noisy.record.error).not.toMatch(/\p{Cc}/u);
  });
});
