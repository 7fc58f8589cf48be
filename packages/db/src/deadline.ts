import { PipelineError } from '@pipeline/runtime';

/** The handler ran past its deadline (its signal aborted): nothing it did is committed, and a retry may help. */
export class DeadlineExceededError extends PipelineError {
  constructor(what: string) {
    super(`${what} passed its deadline and was rolled back`, { code: 'DEADLINE_EXCEEDED', retriable: true });
    this.name = 'DeadlineExceededError';
  }
}

/** Throws DeadlineExceededError when `signal` has aborted; inside a transaction that means rollback. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new DeadlineExceededError(what);
}
