import { brokerErrorOf } from '@pipeline/kafka';
import { PipelineError, UnrecoverableError } from '@pipeline/runtime';

/** Attempts at the initial snapshot that may end in a row with the same cause before the reader stops. */
export const SNAPSHOT_ATTEMPTS = 3;

/** The cause recorded for an attempt whose reader ended without saying why. */
export const ENDED_UNRECORDED = {
  cause: 'reader-ended',
  message: 'the reader ended during the snapshot without recording why (killed, or out of memory?)',
} as const;

/**
 * What interrupted a snapshot, as a key two attempts can be compared by: a PipelineError's code,
 * the brokers' error, PostgreSQL's SQLSTATE, a system error's code; else the error's class and its
 * message with numbers left out (so "after 30012 ms" and "after 30007 ms" are the same cause).
 */
export function interruptionCause(error: unknown): { cause: string; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  const broker = brokerErrorOf(error);
  if (error instanceof PipelineError) {
    const brokerError = (error as { brokerError?: unknown }).brokerError;
    return { cause: typeof brokerError === 'string' ? `${error.code}:${brokerError}` : error.code, message };
  }
  if (broker) return { cause: `kafka:${broker.type}`, message };
  const e = error as { name?: unknown; code?: unknown; severity?: unknown } | undefined;
  if (typeof e?.code === 'string' && typeof e.severity === 'string') return { cause: `postgres:${e.code}`, message };
  if (typeof e?.code === 'string') return { cause: `system:${e.code}`, message };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  return { cause: `${name}:${message.replace(/\d+/g, 'N').slice(0, 200)}`, message };
}

/**
 * The reader stops: its initial snapshot was interrupted SNAPSHOT_ATTEMPTS times in a row by the
 * same cause, so a new slot and a new snapshot would only meet it again.
 */
export function snapshotKeepsFailing(slot: string, times: number, message: string, cause?: unknown): UnrecoverableError {
  return new UnrecoverableError(
    `the initial snapshot of slot ${slot} was interrupted ${times} times in a row by the same cause: ${message}. The reader stops ` +
      'instead of dropping the slot and starting over again: remove the cause, then start the reader again (it takes a new ' +
      "snapshot; 'pipeline slot status' shows what interrupted the last one)",
    { code: 'SNAPSHOT_KEEPS_FAILING', ...(cause === undefined ? {} : { cause }) },
  );
}
