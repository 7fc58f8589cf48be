import { DeadlineExceededError } from '@pipeline/runtime';

/** Throws DeadlineExceededError when `signal` has aborted; inside a transaction that means rollback. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new DeadlineExceededError(`${what} passed its deadline and was rolled back`);
}
