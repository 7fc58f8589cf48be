import {
  finishSnapshotAttempts,
  markSnapshotRunning,
  type Queryable,
  recordSnapshotInterruption,
  settleSnapshotAttempt,
} from '@pipeline/db';
import { type Logger, UnrecoverableError } from '@pipeline/runtime';
import { interruptionCause, SNAPSHOT_ATTEMPTS, snapshotKeepsFailing } from './interruptions';

export interface AttemptContext {
  pool: Queryable;
  slot: string;
  logger: Logger;
  /** False when the reader is stopping or lost its leader lock: then a failure is not the snapshot's own. */
  ownFailure: () => boolean;
}

/**
 * One attempt at the initial snapshot. An attempt interrupted by a cause of its own is recorded
 * (cdc_reader.snapshot_interruptions); the third in a row with the same cause, or a refusal no
 * retry can pass, stops the reader instead of letting it drop the slot and start over.
 */
export async function attemptSnapshot(context: AttemptContext, run: () => Promise<unknown>): Promise<void> {
  const { pool, slot, logger } = context;
  await markSnapshotRunning(pool, slot);
  try {
    await run();
  } catch (error) {
    if (!context.ownFailure()) {
      await settleSnapshotAttempt(pool, slot).catch(() => undefined);
      throw error;
    }
    const { cause, message } = interruptionCause(error);
    const recorded = await recordSnapshotInterruption(pool, slot, cause, message).catch((failure: unknown) => {
      logger.warn({ err: failure }, 'could not record what interrupted the snapshot in cdc_reader.snapshot_interruptions');
      return undefined;
    });
    if (error instanceof UnrecoverableError) throw error;
    if (recorded && recorded.times >= SNAPSHOT_ATTEMPTS) throw snapshotKeepsFailing(slot, recorded.times, message, error);
    logger.warn(
      { slot, cause, times: recorded?.times },
      `the initial snapshot was interrupted (${recorded?.times ?? '?'} of ${SNAPSHOT_ATTEMPTS} in a row with this cause before the reader stops): ${message}`,
    );
    throw error;
  }
  await finishSnapshotAttempts(pool, slot);
}
