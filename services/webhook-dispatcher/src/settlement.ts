import { type AttemptRecord, type DueDelivery, type JudgedAttempt, nextAttemptDelayMs, printable } from '@pipeline/webhooks';

/** What one attempt comes to in the queue: the attempt's row, what happens to the delivery next, and whether it died. */
export interface Settlement {
  record: AttemptRecord;
  next: { retryAt?: Date; disable?: string };
  /** Set when the delivery is dead (the admins are alerted with it). */
  deadReason?: string;
  /** Set when it is retried: after how long. */
  retryInMs?: number;
}

export interface SettlementRules {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  random: () => number;
  nowMs: number;
}

/** The longest error text an attempt's row keeps. */
const MAX_ERROR_CHARS = 1_000;

/**
 * The consequence of a judged attempt (pure): delivered; retried after a backoff (never sooner than
 * the receiver's Retry-After, never later than the cap); dead after the last attempt, at a 4xx or a
 * refused address; the subscription disabled at a 410.
 */
export function settlementOf(
  delivery: Pick<DueDelivery, 'id' | 'subscriptionId' | 'eventId' | 'attempts'>,
  judged: JudgedAttempt,
  latencyMs: number,
  rules: SettlementRules,
): Settlement {
  const { verdict } = judged;
  const attemptNumber = delivery.attempts + 1;
  const record: AttemptRecord = {
    deliveryId: delivery.id,
    subscriptionId: delivery.subscriptionId,
    eventId: delivery.eventId,
    statusCode: judged.statusCode,
    latencyMs,
    verdict: verdict.kind,
    error: verdict.kind === 'delivered' ? null : printable(verdict.reason, MAX_ERROR_CHARS),
  };
  switch (verdict.kind) {
    case 'delivered':
      return { record, next: {} };
    case 'disable':
      return { record, next: { disable: verdict.reason } };
    case 'dead':
      return { record, next: {}, deadReason: verdict.reason };
    case 'retry': {
      if (attemptNumber >= rules.maxAttempts) {
        const reason = `${verdict.reason} after ${attemptNumber} attempts`;
        return {
          record: {
            ...record,
            verdict: 'dead',
            error: printable(`${verdict.reason} (attempt ${attemptNumber}, the last)`, MAX_ERROR_CHARS),
          },
          next: {},
          deadReason: reason,
        };
      }
      const delay = nextAttemptDelayMs(attemptNumber, {
        baseMs: rules.backoffBaseMs,
        maxMs: rules.backoffMaxMs,
        ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
        random: rules.random,
      });
      return { record, next: { retryAt: new Date(rules.nowMs + delay) }, retryInMs: delay };
    }
    default: {
      const unknown: never = verdict;
      throw new Error(`unknown verdict ${JSON.stringify(unknown)}`);
    }
  }
}
