import { retryAfterMs } from './retry-after';
import type { SendOutcome } from './sender';

/** What one delivery attempt's answer means for the queued delivery. */
export type AttemptVerdict =
  | { kind: 'delivered' }
  /** Try again later: 408, 429, 5xx, a timeout or a connection failure. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 410 Gone: the receiver asks us to stop; the subscription is disabled. */
  | { kind: 'disable'; reason: string }
  /** Another 4xx (or a redirect, never followed): retrying cannot help. */
  | { kind: 'dead'; reason: string };

/**
 * The verdict on an HTTP answer: 2xx delivered; 410 disables the subscription; 408, 429 and 5xx
 * are retried (no sooner than a valid Retry-After asks, capped at `maxDelayMs`); a redirect (never
 * followed) and any other 4xx are dead at once; a status outside 200–599 is the receiver
 * misbehaving, retried.
 */
export function classifyResponse(status: number, retryAfter: string | null | undefined, nowMs: number, maxDelayMs: number): AttemptVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'disable', reason: '410 Gone: the receiver asked to stop' };
  if (status === 408 || status === 429 || (status >= 500 && status < 600)) {
    const after = retryAfterMs(retryAfter, nowMs, maxDelayMs);
    return { kind: 'retry', reason: `HTTP ${status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
  }
  if (status >= 300 && status < 400)
    return { kind: 'dead', reason: `HTTP ${status}: redirects are not followed (point the subscription at the final URL)` };
  if (status >= 400 && status < 500) return { kind: 'dead', reason: `HTTP ${status}` };
  return { kind: 'retry', reason: `HTTP ${status} is not a final status code: the receiver misbehaves` };
}

/** How a failed attempt is counted in `webhook_failures_total{class}`. */
export const FAILURE_CLASSES = ['4xx', '5xx', '429', 'timeout', 'connection', 'protocol', 'address'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** An attempt judged: the verdict, the status code if there was an answer, and the failure's class if it failed. */
export interface JudgedAttempt {
  verdict: AttemptVerdict;
  statusCode: number | null;
  failure: FailureClass | undefined;
}

/**
 * The verdict on whatever an attempt came to: an answer (by its status; what the receiver said
 * is kept, cut short, in the reason), an address the rule refused (dead: the name resolves the
 * same way next time, and the admins should look), or no answer at all (retried).
 */
export function judgeAttempt(outcome: SendOutcome, nowMs: number, maxDelayMs: number): JudgedAttempt {
  switch (outcome.kind) {
    case 'answered': {
      const verdict = classifyResponse(outcome.status, outcome.retryAfter, nowMs, maxDelayMs);
      if (verdict.kind === 'delivered') return { verdict, statusCode: outcome.status, failure: undefined };
      // A redirect counts with the 4xx (the subscription must change); a status beyond 599 with the 5xx.
      const failure: FailureClass = outcome.status === 429 ? '429' : outcome.status >= 300 && outcome.status < 500 ? '4xx' : '5xx';
      const said = outcome.bodySnippet && verdict.kind !== 'disable' ? ` (the receiver said: ${outcome.bodySnippet})` : '';
      return { verdict: { ...verdict, reason: `${verdict.reason}${said}` }, statusCode: outcome.status, failure };
    }
    case 'refused':
      return { verdict: { kind: 'dead', reason: outcome.reason }, statusCode: null, failure: 'address' };
    case 'failed':
      return { verdict: { kind: 'retry', reason: outcome.reason }, statusCode: null, failure: outcome.failure };
    default: {
      const unknown: never = outcome;
      throw new Error(`unknown send outcome ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * When to try again after `attempt` failed attempts: exponential from `baseMs`, capped at `maxMs`,
 * with full jitter (`random` in [0, 1)), and never before the receiver's Retry-After (itself
 * never beyond `maxMs`).
 */
export function nextAttemptDelayMs(
  attempt: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number; random: () => number },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(ceiling / 2 + (options.random() * ceiling) / 2);
  return Math.min(options.maxMs, Math.max(jittered, options.retryAfterMs ?? 0));
}
