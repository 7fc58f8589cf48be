/** What one delivery attempt's answer means for the queued delivery. */
export type AttemptVerdict =
  | { kind: 'delivered' }
  /** Try again later: 408, 429, 5xx, a timeout or a connection failure. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  /** 410 Gone: the receiver asks us to stop; the subscription is disabled. */
  | { kind: 'disable'; reason: string }
  /** Another 4xx (or a redirect, never followed): retrying cannot help. */
  | { kind: 'dead'; reason: string };

/** `Retry-After` as milliseconds from `nowMs`: seconds, or an HTTP date. */
export function retryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The verdict on an HTTP answer. */
export function classifyResponse(status: number, retryAfter: string | null | undefined, nowMs: number): AttemptVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'disable', reason: '410 Gone: the receiver asked to stop' };
  if (status === 408 || status === 429 || status >= 500) {
    const after = retryAfterMs(retryAfter, nowMs);
    return { kind: 'retry', reason: `HTTP ${status}`, ...(after === undefined ? {} : { retryAfterMs: after }) };
  }
  if (status >= 300 && status < 400)
    return { kind: 'dead', reason: `HTTP ${status}: redirects are not followed (point the subscription at the final URL)` };
  return { kind: 'dead', reason: `HTTP ${status}` };
}

/**
 * When to try again after `attempt` failed attempts: exponential from `baseMs`, capped at `maxMs`,
 * with full jitter (`random` in [0, 1)), and never before the receiver's Retry-After.
 */
export function nextAttemptDelayMs(
  attempt: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number; random: () => number },
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(ceiling / 2 + (options.random() * ceiling) / 2);
  return Math.max(jittered, options.retryAfterMs ?? 0);
}
