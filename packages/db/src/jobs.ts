import type { PoolClient, Queryable } from './pool';

/**
 * Scheduled jobs' bookkeeping (migration 0006): `jobs` (registered at start), `job_claims` (one
 * per occurrence a replica took on) and `job_runs` (one per attempt). Times are passed in from
 * the scheduler's clock.
 */

export interface JobIdentity {
  service: string;
  job: string;
}

export interface JobRegistration {
  service: string;
  name: string;
  cron: string;
  timeZone: string;
  at: Date;
}

/** Registers a job (or notes that a replica started with it); returns when it was first registered. */
export async function registerJob(db: Queryable, job: JobRegistration): Promise<{ registeredAt: Date }> {
  const { rows } = await db.query<{ registered_at: Date }>(
    `INSERT INTO jobs (service, name, cron, time_zone, registered_at, seen_at) VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (service, name) DO UPDATE SET cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone, seen_at = EXCLUDED.seen_at
     RETURNING registered_at`,
    [job.service, job.name, job.cron, job.timeZone, job.at],
  );
  const row = rows[0];
  if (!row) throw new Error(`registering job ${job.name} returned no row`);
  return { registeredAt: row.registered_at };
}

/** The session advisory lock of one occurrence: held by the replica working on it, released with its session. */
function occurrenceLockKey(id: JobIdentity, scheduledFor: Date): string {
  return `job:${id.service}:${id.job}:${scheduledFor.toISOString()}`;
}

/** Tries for the occurrence's lock on `session` (a connection kept for the whole run); false: a live replica holds it. */
export async function tryLockOccurrence(session: PoolClient, id: JobIdentity, scheduledFor: Date): Promise<boolean> {
  const { rows } = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 11)) AS ok', [
    occurrenceLockKey(id, scheduledFor),
  ]);
  return rows[0]?.ok === true;
}

export async function unlockOccurrence(session: PoolClient, id: JobIdentity, scheduledFor: Date): Promise<void> {
  await session.query('SELECT pg_advisory_unlock(hashtextextended($1, 11))', [occurrenceLockKey(id, scheduledFor)]);
}

export type ClaimStatus = 'claimed' | 'succeeded' | 'failed';

export type ClaimResult =
  | { kind: 'closed'; status: Exclude<ClaimStatus, 'claimed'> }
  | { kind: 'claimed'; takenOverFrom?: string; abandonedRuns: number };

/**
 * Claims an occurrence for `replica`. Call only while holding its lock: a claim still open then
 * belongs to a replica whose session is gone, so it is taken over and that replica's running
 * attempts are marked abandoned. A closed claim (succeeded, or failed and alerted) stays closed.
 */
export async function claimOccurrence(
  session: PoolClient,
  id: JobIdentity,
  scheduledFor: Date,
  replica: string,
  at: Date,
): Promise<ClaimResult> {
  await session.query('BEGIN');
  try {
    const { rows } = await session.query<{ status: ClaimStatus; claimed_by: string }>(
      'SELECT status, claimed_by FROM job_claims WHERE service = $1 AND job = $2 AND scheduled_for = $3 FOR UPDATE',
      [id.service, id.job, scheduledFor],
    );
    const existing = rows[0];
    let result: ClaimResult;
    if (existing && existing.status !== 'claimed') {
      result = { kind: 'closed', status: existing.status };
    } else if (existing) {
      await session.query('UPDATE job_claims SET claimed_by = $4, claimed_at = $5 WHERE service = $1 AND job = $2 AND scheduled_for = $3', [
        id.service,
        id.job,
        scheduledFor,
        replica,
        at,
      ]);
      const abandoned = await session.query(
        `UPDATE job_runs SET outcome = 'abandoned', finished_at = $4,
                error = 'its replica died (its session lock was gone); another replica took the run over'
          WHERE service = $1 AND job = $2 AND scheduled_for = $3 AND trigger = 'schedule' AND outcome = 'running'`,
        [id.service, id.job, scheduledFor, at],
      );
      result = { kind: 'claimed', takenOverFrom: existing.claimed_by, abandonedRuns: abandoned.rowCount ?? 0 };
    } else {
      await session.query(
        `INSERT INTO job_claims (service, job, scheduled_for, claimed_by, claimed_at, status) VALUES ($1, $2, $3, $4, $5, 'claimed')`,
        [id.service, id.job, scheduledFor, replica, at],
      );
      result = { kind: 'claimed', abandonedRuns: 0 };
    }
    await session.query('COMMIT');
    return result;
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Closes `replica`'s claim: no replica runs that occurrence again. A claim another replica took over stays as it is. */
export async function closeClaim(
  db: Queryable,
  id: JobIdentity,
  scheduledFor: Date,
  replica: string,
  status: 'succeeded' | 'failed',
  at: Date,
): Promise<void> {
  await db.query(
    `UPDATE job_claims SET status = $5, closed_at = $6
      WHERE service = $1 AND job = $2 AND scheduled_for = $3 AND claimed_by = $4 AND status = 'claimed'`,
    [id.service, id.job, scheduledFor, replica, status, at],
  );
}

/** The claim's status, or undefined when nobody claimed the occurrence. */
export async function claimStatus(db: Queryable, id: JobIdentity, scheduledFor: Date): Promise<ClaimStatus | undefined> {
  const { rows } = await db.query<{ status: ClaimStatus }>(
    'SELECT status FROM job_claims WHERE service = $1 AND job = $2 AND scheduled_for = $3',
    [id.service, id.job, scheduledFor],
  );
  return rows[0]?.status;
}

export type JobTrigger = 'schedule' | 'manual';
export type JobOutcome = 'running' | 'succeeded' | 'failed' | 'abandoned';

export interface JobRunStart extends JobIdentity {
  scheduledFor: Date;
  trigger: JobTrigger;
  attempt: number;
  replica: string;
  at: Date;
}

export async function startJobRun(db: Queryable, run: JobRunStart): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO job_runs (service, job, scheduled_for, trigger, attempt, replica, started_at, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running') RETURNING id::text`,
    [run.service, run.job, run.scheduledFor, run.trigger, run.attempt, run.replica, run.at],
  );
  const id = rows[0]?.id;
  if (id === undefined) throw new Error(`starting a run of ${run.job} returned no row`);
  return id;
}

export interface JobRunEnd {
  outcome: 'succeeded' | 'failed';
  at: Date;
  items?: number;
  details?: Record<string, unknown>;
  error?: string;
}

/** Records how an attempt ended (only while it is still running: an abandoned attempt stays abandoned). */
export async function finishJobRun(db: Queryable, runId: string, end: JobRunEnd): Promise<void> {
  await db.query(
    `UPDATE job_runs SET outcome = $2, finished_at = $3, items = $4, details = $5, error = $6 WHERE id = $1 AND outcome = 'running'`,
    [
      runId,
      end.outcome,
      end.at,
      end.items ?? null,
      end.details === undefined ? null : JSON.stringify(end.details),
      end.error?.slice(0, 4_000) ?? null,
    ],
  );
}

export interface JobRunRecord extends JobIdentity {
  id: string;
  scheduledFor: Date;
  trigger: JobTrigger;
  attempt: number;
  replica: string;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: JobOutcome;
  items: number | null;
  details: Record<string, unknown> | null;
  error: string | null;
}

interface JobRunRow {
  id: string;
  service: string;
  job: string;
  scheduled_for: Date;
  trigger: JobTrigger;
  attempt: number;
  replica: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: JobOutcome;
  items: number | null;
  details: Record<string, unknown> | null;
  error: string | null;
}

const RUN_COLUMNS = `id::text, service, job, scheduled_for, trigger, attempt, replica, started_at, finished_at, outcome, items, details, error`;

function toRunRecord(row: JobRunRow): JobRunRecord {
  return {
    id: row.id,
    service: row.service,
    job: row.job,
    scheduledFor: row.scheduled_for,
    trigger: row.trigger,
    attempt: row.attempt,
    replica: row.replica,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    outcome: row.outcome,
    items: row.items,
    details: row.details,
    error: row.error,
  };
}

/** A job's attempts, oldest first. */
export async function jobRuns(db: Queryable, id: JobIdentity): Promise<JobRunRecord[]> {
  const { rows } = await db.query<JobRunRow>(
    `SELECT ${RUN_COLUMNS} FROM job_runs WHERE service = $1 AND job = $2 ORDER BY started_at, id`,
    [id.service, id.job],
  );
  return rows.map(toRunRecord);
}

export interface RegisteredJob {
  service: string;
  name: string;
  cron: string;
  timeZone: string;
  registeredAt: Date;
  seenAt: Date;
  lastRun: JobRunRecord | undefined;
  lastSuccessAt: Date | undefined;
}

/** Every registered job with its latest attempt and its latest success (what `pipeline jobs list` shows). */
export async function listJobs(db: Queryable, service?: string): Promise<RegisteredJob[]> {
  const { rows } = await db.query<{
    service: string;
    name: string;
    cron: string;
    time_zone: string;
    registered_at: Date;
    seen_at: Date;
    last_run: JobRunRow | null;
    last_success_at: string | null;
  }>(
    `SELECT j.service, j.name, j.cron, j.time_zone, j.registered_at, j.seen_at,
            (SELECT row_to_json(r) FROM (SELECT ${RUN_COLUMNS} FROM job_runs
               WHERE service = j.service AND job = j.name ORDER BY started_at DESC, id DESC LIMIT 1) r) AS last_run,
            (SELECT max(finished_at) FROM job_runs WHERE service = j.service AND job = j.name AND outcome = 'succeeded') AS last_success_at
       FROM jobs j WHERE $1::text IS NULL OR j.service = $1 ORDER BY j.service, j.name`,
    [service ?? null],
  );
  return rows.map((row) => {
    const last = row.last_run;
    return {
      service: row.service,
      name: row.name,
      cron: row.cron,
      timeZone: row.time_zone,
      registeredAt: row.registered_at,
      seenAt: row.seen_at,
      // row_to_json leaves timestamps as text.
      lastRun: last
        ? toRunRecord({
            ...last,
            scheduled_for: new Date(last.scheduled_for),
            started_at: new Date(last.started_at),
            finished_at: last.finished_at === null ? null : new Date(last.finished_at),
          })
        : undefined,
      lastSuccessAt: row.last_success_at === null ? undefined : new Date(row.last_success_at),
    };
  });
}
