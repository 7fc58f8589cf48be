import type { JobTrigger, Pool } from '@pipeline/db';
import type { Clock, Logger } from '@pipeline/runtime';
import type { Registry } from 'prom-client';

/** What a job's `run` gets. */
export interface JobContext {
  service: string;
  job: string;
  /** The occurrence this run is for (schedule), or when it was asked for (manual). */
  scheduledFor: Date;
  trigger: JobTrigger;
  /** 1, then 2, … while a scheduled run is retried. */
  attempt: number;
  /** Aborted on shutdown, or when this replica lost its claim (its database session ended): stop. */
  signal: AbortSignal;
  logger: Logger;
  pool: Pool;
}

/** What a run reports; recorded in `job_runs`. */
export interface JobResult {
  /** How many things it handled (rows checked, tasks created …). */
  items?: number;
  /** Anything else worth keeping about the run, as JSON. */
  details?: Record<string, unknown>;
}

export interface JobSpec {
  /** Unique within the service; what `pipeline jobs run NAME` names. */
  name: string;
  /** Five cron fields: minute hour day-of-month month day-of-week, for example `0 8 * * *`. */
  cron: string;
  /** The IANA time zone the cron is read in, for example `Europe/Warsaw`, or `UTC`. */
  timeZone: string;
  /**
   * The work. It may run on any replica, once per occurrence when it succeeds; a failed attempt
   * is retried, so it must be safe to run again (decide from current state).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a job that reports nothing has simply succeeded.
  run: (context: JobContext) => Promise<JobResult | void>;
  /** Delay before the first retry of a failed scheduled run, ms; doubles each attempt. Default 10000. */
  retryDelayMs?: number;
  /** Longest delay between retries, ms. Default 600000. */
  maxRetryDelayMs?: number;
}

/** Where jobs run: the service's pool, logger and metrics, and the clock (injected in tests). */
export interface JobHost {
  service: string;
  pool: Pool;
  logger: Logger;
  registry?: Registry;
  /** Default: the system clock. */
  clock?: Clock;
  /** This replica's name in `job_claims` and `job_runs`. Default `<hostname>:<pid>:<random>`. */
  replica?: string;
  /** While another replica holds an occurrence, how often to look whether it finished or died, ms. Default 15000. */
  claimPollMs?: number;
}
