import {
  alertJobFailed,
  claimOccurrence,
  claimStatus,
  closeClaim,
  type JobIdentity,
  listJobs,
  type PoolClient,
  registerJob,
  tryLockOccurrence,
  unlockOccurrence,
  whileDatabaseAway,
} from '@pipeline/db';
import { type Clock, systemClock } from '@pipeline/runtime';
import { defaultReplicaName, runAttempt } from './attempt';
import { jobMetrics } from './metrics';
import { makeSchedule, type Schedule } from './schedule';
import type { JobHost, JobSpec } from './types';

export interface ScheduledJob {
  name: string;
  schedule: Schedule;
  /** Stops scheduling; a running attempt is aborted (its claim is left for another replica or the next start). */
  stop(): Promise<void>;
}

/**
 * Runs `spec` on its schedule, once per occurrence across every replica that schedules it.
 *
 * - Registers the job (service, name, cron, time zone) in `jobs` at once.
 * - At each occurrence the replicas race for a session advisory lock on it; the winner claims it
 *   in `job_claims` and runs it. The others look again every `claimPollMs` until the claim is
 *   closed: a claim left open by a replica whose session is gone (it died) is taken over.
 * - A failed attempt is retried with a doubling delay until the next occurrence is due; then the
 *   claim is closed as failed and the admins are alerted.
 * - Started after an occurrence it missed (one due since the job was first registered, and not
 *   closed), it catches up once: only the latest missed occurrence runs.
 */
export async function scheduleJob(host: JobHost, spec: JobSpec): Promise<ScheduledJob> {
  const schedule = makeSchedule(spec.cron, spec.timeZone);
  const clock: Clock = host.clock ?? systemClock;
  const replica = host.replica ?? defaultReplicaName();
  const id: JobIdentity = { service: host.service, job: spec.name };
  const logger = host.logger.child({ job: spec.name });
  const metrics = jobMetrics(host.registry, spec.name);
  const stopped = new AbortController();
  // Started during a PostgreSQL restart (found by the chaos run), the service waits for it instead of failing its start.
  const untilAnswered = <T>(step: () => Promise<T>) =>
    whileDatabaseAway(step, {
      signal: stopped.signal,
      onWait: (error, attempt, delayMs) => {
        if (attempt === 1 || attempt % 10 === 0) {
          logger.warn(
            { err: error, attempt },
            `the database is away (${(error as Error).message}): registering the job again in ${delayMs} ms`,
          );
        }
      },
    });
  const { registeredAt } = await untilAnswered(() =>
    registerJob(host.pool, {
      service: host.service,
      name: spec.name,
      cron: spec.cron,
      timeZone: spec.timeZone,
      at: new Date(clock.now()),
    }),
  );
  // What the "job late" alert compares: the latest due run against the latest success (any replica's, from the database).
  const registered = (await untilAnswered(() => listJobs(host.pool, host.service))).find((job) => job.name === spec.name);
  metrics.lastSuccess.set({ job: spec.name }, (registered?.lastSuccessAt?.getTime() ?? 0) / 1000);
  metrics.dueOf.set(spec.name, () => {
    const due = schedule.latest(new Date(clock.now()));
    return due && due >= registeredAt ? due.getTime() / 1000 : 0;
  });
  logger.info(
    { cron: spec.cron, timeZone: spec.timeZone, nextRun: schedule.next(new Date(clock.now())).toISOString() },
    `scheduled job ${spec.name}`,
  );

  const now = (): Date => new Date(clock.now());

  /** Attempts until success, or until the next occurrence is due. The caller holds the occurrence's lock on `session`. */
  async function runClaimed(occurrence: Date, session: PoolClient, lost: AbortSignal): Promise<void> {
    const giveUpAt = schedule.next(occurrence).getTime();
    const signal = AbortSignal.any([stopped.signal, lost]);
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      const outcome = await runAttempt(host, spec, { trigger: 'schedule', scheduledFor: occurrence, attempt, replica, signal });
      if (outcome.ok) {
        if (!lost.aborted) await closeClaim(session, id, occurrence, replica, 'succeeded', now());
        return;
      }
      lastError = outcome.error;
      // Stopping or no longer ours: the open claim is for whoever takes it next.
      if (signal.aborted) return;
      const delayMs = Math.min((spec.retryDelayMs ?? 10_000) * 2 ** (attempt - 1), spec.maxRetryDelayMs ?? 600_000);
      if (clock.now() + delayMs >= giveUpAt) {
        await closeClaim(session, id, occurrence, replica, 'failed', now());
        metrics.givenUp.inc({ job: spec.name });
        logger.error(
          { scheduledFor: occurrence.toISOString(), attempts: attempt },
          `job ${spec.name} gave up on its run due at ${occurrence.toISOString()} after ${attempt} attempts (the next run is due): ${lastError}`,
        );
        await alertJobFailed(host.pool, {
          service: host.service,
          job: spec.name,
          scheduledFor: occurrence,
          attempts: attempt,
          error: lastError,
        });
        return;
      }
      logger.warn({ attempt, delayMs }, `retrying job ${spec.name} in ${Math.round(delayMs / 1000)} s`);
      await clock.sleep(delayMs, signal);
      if (signal.aborted) return;
    }
  }

  /** One occurrence: run it if no live replica does, else watch until it is closed (or its holder dies). */
  async function handleOccurrence(occurrence: Date): Promise<void> {
    const giveUpAt = schedule.next(occurrence).getTime();
    while (!stopped.signal.aborted) {
      // A connection of its own: the occurrence's lock lives as long as this session.
      const session = await host.pool.connect();
      const lost = new AbortController();
      const onSessionError = (error: Error): void => {
        logger.warn(
          { err: error },
          `lost the database session holding job ${spec.name}'s claim: stopping the run, another replica takes it over`,
        );
        lost.abort();
      };
      session.on('error', onSessionError);
      let locked = false;
      try {
        locked = await tryLockOccurrence(session, id, occurrence);
        if (locked) {
          const claim = await claimOccurrence(session, id, occurrence, replica, now());
          if (claim.kind === 'closed') return;
          if (claim.takenOverFrom) {
            logger.warn(
              { scheduledFor: occurrence.toISOString(), previous: claim.takenOverFrom, abandonedRuns: claim.abandonedRuns },
              `took over job ${spec.name}'s run due at ${occurrence.toISOString()} from ${claim.takenOverFrom}, whose session is gone`,
            );
          }
          await runClaimed(occurrence, session, lost.signal);
          return;
        }
      } finally {
        session.off('error', onSessionError);
        if (locked && !lost.signal.aborted) await unlockOccurrence(session, id, occurrence).catch(() => lost.abort());
        // A session that failed is not given back to the pool.
        session.release(lost.signal.aborted ? new Error('session lost') : undefined);
      }
      // Another live replica holds it: look again later, in case it dies before closing it.
      const status = await claimStatus(host.pool, id, occurrence);
      if (status === 'succeeded' || status === 'failed') return;
      const waitMs = Math.min(host.claimPollMs ?? 15_000, giveUpAt - clock.now());
      if (waitMs <= 0) return;
      await clock.sleep(waitMs, stopped.signal);
    }
  }

  async function loop(): Promise<void> {
    // Occurrences before the first registration never run; after that, only the latest missed one catches up.
    let handledThrough = registeredAt.getTime() - 1;
    while (!stopped.signal.aborted) {
      const latest = schedule.latest(now());
      if (latest && latest.getTime() > handledThrough) {
        handledThrough = latest.getTime();
        try {
          await handleOccurrence(latest);
        } catch (error) {
          // The database went away mid-way: the claim stays open for whoever gets there next.
          logger.error(
            { err: error, scheduledFor: latest.toISOString() },
            `job ${spec.name}: could not run its occurrence; the next replica to look takes it over`,
          );
          await clock.sleep(host.claimPollMs ?? 15_000, stopped.signal);
          handledThrough = latest.getTime() - 1;
        }
        continue;
      }
      await clock.sleep(schedule.next(now()).getTime() - clock.now(), stopped.signal);
    }
  }

  const running = loop();
  return {
    name: spec.name,
    schedule,
    stop: async () => {
      stopped.abort();
      metrics.dueOf.delete(spec.name);
      await running;
    },
  };
}
