/**
 * Time as a dependency: code that waits for a time of day (the scheduler) takes a Clock, so a
 * test can move it across 08:00 or a daylight-saving change without waiting.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` (at once when `ms` ≤ 0), or as soon as `signal` aborts; never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Waits `ms` of real time, or until `signal` aborts (then resolves early; the caller checks `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => Date.now(), sleep };
