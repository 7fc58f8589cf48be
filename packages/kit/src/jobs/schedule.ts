import { PipelineError } from '@pipeline/runtime';
import { Cron } from 'croner';

/**
 * When a cron expression is due, read in an IANA time zone (croner, which follows the Open Cron
 * Pattern Specification across daylight-saving changes): a time that a spring-forward gap skips
 * is due once, at the first instant after the gap (02:30 → 03:00); a time that a fall-back
 * overlap repeats is due once, at its first occurrence.
 */
export interface Schedule {
  cron: string;
  timeZone: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
  /** The latest occurrence at or before `at`, if any. */
  latest(at: Date): Date | undefined;
}

/** An invalid cron expression or time zone: a configuration error, never retriable. */
export class InvalidScheduleError extends PipelineError {
  constructor(cron: string, timeZone: string, reason: string) {
    super(
      `invalid schedule ${JSON.stringify(cron)} in ${JSON.stringify(timeZone)}: ${reason}. ` +
        'Expected five fields (minute hour day-of-month month day-of-week, for example "0 8 * * *") and an IANA time zone such as Europe/Warsaw or UTC',
      { code: 'INVALID_SCHEDULE', retriable: false },
    );
    this.name = 'InvalidScheduleError';
  }
}

export function makeSchedule(cron: string, timeZone: string): Schedule {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) throw new InvalidScheduleError(cron, timeZone, `it has ${fields.length} fields, not 5`);
  let pattern: Cron;
  try {
    pattern = new Cron(fields.join(' '), { timezone: timeZone, paused: true });
    // An unknown time zone fails only when a date is computed.
    pattern.nextRun(new Date(0));
  } catch (error) {
    throw new InvalidScheduleError(cron, timeZone, (error as Error).message);
  }
  return {
    cron,
    timeZone,
    next: (after) => {
      const next = pattern.nextRun(after);
      if (!next) throw new InvalidScheduleError(cron, timeZone, `it is never due after ${after.toISOString()}`);
      return next;
    },
    // previousRuns looks strictly before its reference; occurrences fall on whole minutes.
    latest: (at) => pattern.previousRuns(1, new Date(at.getTime() + 1))[0] ?? undefined,
  };
}
