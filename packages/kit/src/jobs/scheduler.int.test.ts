import { jobRuns, makePool, type Pool } from '@pipeline/db';
import { makeLogger, PipelineError } from '@pipeline/runtime';
import { createTestDatabase, ManualClock, type TestDatabase, testLogLevel, uniqueName } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { type ScheduledJob, scheduleJob } from './scheduler';
import type { JobContext, JobSpec } from './types';

const at = (iso: string): number => Date.parse(iso);
const logger = makeLogger({ service: 'scheduler-test', level: testLogLevel('silent') });

/**
 * Two scheduler instances (think two replicas of one service) with pools of their own, sharing
 * one injected clock: each occurrence runs once, at the right UTC instant across daylight-saving
 * changes, failures are retried and recorded, a missed run is caught up once, and a claim whose
 * replica died is taken over.
 */
describe('scheduleJob', () => {
  let db: TestDatabase;
  const pools: Pool[] = [];
  let jobs: ScheduledJob[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('sched');
  });
  afterEach(async () => {
    await Promise.all(jobs.map((job) => job.stop()));
    jobs = [];
  });
  afterAll(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    await db.drop();
  });

  function pool(replica: string): Pool {
    const made = makePool({ connectionString: db.url, applicationName: `scheduler-${replica}`, max: 4 });
    pools.push(made);
    return made;
  }

  interface Replicas {
    A: JobSpec;
    B?: JobSpec;
    registry?: Registry;
    claimPollMs?: number;
    only?: 'A' | 'B';
  }

  /** Starts the job on instances A and B (or only one), on the shared clock. */
  async function replicas(service: string, clock: ManualClock, options: Replicas) {
    for (const replica of options.only ? [options.only] : (['A', 'B'] as const)) {
      const spec = (replica === 'B' ? options.B : undefined) ?? options.A;
      jobs.push(
        await scheduleJob(
          {
            service,
            pool: pool(replica),
            logger,
            clock,
            replica,
            claimPollMs: options.claimPollMs ?? 5_000,
            ...(options.registry ? { registry: options.registry } : {}),
          },
          spec,
        ),
      );
    }
  }

  const runsOf = async (service: string, job: string) =>
    (await jobRuns(db.pool, { service, job })).map((run) => ({
      scheduledFor: run.scheduledFor.toISOString(),
      outcome: run.outcome,
      attempt: run.attempt,
      trigger: run.trigger,
    }));

  const succeeded = async (service: string, job: string) =>
    (await runsOf(service, job)).filter((run) => run.outcome === 'succeeded').map((run) => run.scheduledFor);

  const recording = (log: string[]) => async (context: JobContext) => {
    log.push(context.scheduledFor.toISOString());
    return { items: 1 };
  };

  it('registers the job and runs 0 8 * * * in Europe/Warsaw once a day: 07:00Z in winter, 06:00Z in summer', async () => {
    const service = uniqueName('sched-daily');
    const clock = new ManualClock(at('2027-03-25T00:00:00Z'));
    const ran: string[] = [];
    await replicas(service, clock, { A: { name: 'daily', cron: '0 8 * * *', timeZone: 'Europe/Warsaw', run: recording(ran) } });
    const { rows } = await db.pool.query('SELECT service, name, cron, time_zone FROM jobs WHERE service = $1', [service]);
    expect(rows).toEqual([{ service, name: 'daily', cron: '0 8 * * *', time_zone: 'Europe/Warsaw' }]);

    await clock.runUntil(at('2027-04-01T00:00:00Z'), 2);
    const expected = [
      '2027-03-25T07:00:00.000Z',
      '2027-03-26T07:00:00.000Z',
      '2027-03-27T07:00:00.000Z',
      // Summer time from 2027-03-28 02:00 local.
      '2027-03-28T06:00:00.000Z',
      '2027-03-29T06:00:00.000Z',
      '2027-03-30T06:00:00.000Z',
      '2027-03-31T06:00:00.000Z',
    ];
    expect(ran).toEqual(expected);
    expect(await succeeded(service, 'daily')).toEqual(expected);
    const claims = await db.pool.query<{ status: string; n: string }>(
      'SELECT status, count(*)::text AS n FROM job_claims WHERE service = $1 GROUP BY status',
      [service],
    );
    expect(claims.rows).toEqual([{ status: 'succeeded', n: '7' }]);
  }, 60_000);

  it('runs 30 2 * * * in Europe/Warsaw exactly once on the spring-forward day (03:00 local) and once on the fall-back day (the first 02:30)', async () => {
    const spring = uniqueName('sched-spring');
    const springClock = new ManualClock(at('2027-03-27T00:00:00Z'));
    const springRuns: string[] = [];
    await replicas(spring, springClock, { A: { name: 'gap', cron: '30 2 * * *', timeZone: 'Europe/Warsaw', run: recording(springRuns) } });
    await springClock.runUntil(at('2027-03-29T12:00:00Z'), 2);
    expect(springRuns).toEqual([
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, the first instant after the gap
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
    ]);
    await Promise.all(jobs.splice(0).map((job) => job.stop()));

    const fall = uniqueName('sched-fall');
    const fallClock = new ManualClock(at('2027-10-30T00:00:00Z'));
    const fallRuns: string[] = [];
    await replicas(fall, fallClock, { A: { name: 'overlap', cron: '30 2 * * *', timeZone: 'Europe/Warsaw', run: recording(fallRuns) } });
    await fallClock.runUntil(at('2027-11-01T12:00:00Z'), 2);
    expect(fallRuns).toEqual([
      '2027-10-30T00:30:00.000Z', // 02:30 CEST
      '2027-10-31T00:30:00.000Z', // 02:30 happens twice: the first (CEST) only
      '2027-11-01T01:30:00.000Z', // 02:30 CET
    ]);
    expect(await succeeded(fall, 'overlap')).toEqual(fallRuns);
  }, 60_000);

  it('catches up a missed run once when an instance starts after it, and never runs one due before the job existed', async () => {
    const service = uniqueName('sched-catchup');
    const clock = new ManualClock(at('2027-01-10T07:00:00Z'));
    const ran: string[] = [];
    const spec: JobSpec = { name: 'daily', cron: '0 8 * * *', timeZone: 'UTC', run: recording(ran) };
    await replicas(service, clock, { A: spec });
    await clock.runUntil(at('2027-01-10T09:00:00Z'), 2);
    expect(ran).toEqual(['2027-01-10T08:00:00.000Z']);
    // Every replica down for three days; both start again at 09:00, an hour after a run was due.
    await Promise.all(jobs.splice(0).map((job) => job.stop()));
    const later = new ManualClock(at('2027-01-13T09:00:00Z'));
    await replicas(service, later, { A: spec });
    await later.untilSleeping(2);
    expect(ran).toEqual(['2027-01-10T08:00:00.000Z', '2027-01-13T08:00:00.000Z']);
    await later.runUntil(at('2027-01-14T09:00:00Z'), 2);
    expect(ran).toEqual(['2027-01-10T08:00:00.000Z', '2027-01-13T08:00:00.000Z', '2027-01-14T08:00:00.000Z']);

    // A job registered for the first time at 09:00 waits for tomorrow's 08:00.
    const fresh = uniqueName('sched-fresh');
    const freshRuns: string[] = [];
    const freshClock = new ManualClock(at('2027-01-20T09:00:00Z'));
    await replicas(fresh, freshClock, { A: { ...spec, run: recording(freshRuns) } });
    await freshClock.runUntil(at('2027-01-21T07:59:00Z'), 2);
    expect(freshRuns).toEqual([]);
    await freshClock.runUntil(at('2027-01-21T09:00:00Z'), 2);
    expect(freshRuns).toEqual(['2027-01-21T08:00:00.000Z']);
  }, 60_000);

  it('retries a run that throws with a growing delay, recording each attempt and its error; gives up and alerts the admins when the next run is due', async () => {
    const service = uniqueName('sched-retry');
    const clock = new ManualClock(at('2027-02-01T07:00:00Z'));
    const registry = new Registry();
    let failures = 2;
    let alwaysFail = false;
    const spec: JobSpec = {
      name: 'flaky',
      cron: '0 8 * * *',
      timeZone: 'UTC',
      retryDelayMs: 60 * 60_000,
      maxRetryDelayMs: 4 * 60 * 60_000,
      run: async ({ attempt }) => {
        if (alwaysFail || failures-- > 0) {
          throw new PipelineError(`the warehouse API refused (attempt ${attempt})`, { code: 'WAREHOUSE_DOWN', retriable: true });
        }
        return { items: 3 };
      },
    };
    // The replica that does not hold a run looks again hourly (a day of retries at 5 s would be thousands of steps).
    await replicas(service, clock, { A: spec, registry, claimPollMs: 60 * 60_000 });
    // Registered at 07:00, before its first run: nothing due, nothing succeeded (the "job late" alert compares the two).
    expect(await registry.metrics()).toMatch(/job_last_due_timestamp_seconds\{job="flaky"\} 0\n/);
    expect(await registry.metrics()).toMatch(/job_last_success_timestamp_seconds\{job="flaky"\} 0\n/);
    await clock.runUntil(at('2027-02-01T12:00:00Z'), 2);
    const first = (await jobRuns(db.pool, { service, job: 'flaky' })).map((run) => [
      run.startedAt.toISOString(),
      run.attempt,
      run.outcome,
      run.error,
      run.items,
    ]);
    expect(first).toEqual([
      ['2027-02-01T08:00:00.000Z', 1, 'failed', 'WAREHOUSE_DOWN: the warehouse API refused (attempt 1)', null],
      ['2027-02-01T09:00:00.000Z', 2, 'failed', 'WAREHOUSE_DOWN: the warehouse API refused (attempt 2)', null],
      ['2027-02-01T11:00:00.000Z', 3, 'succeeded', null, 3],
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/job_failures_total\{job="flaky"\} 2/);
    expect(metrics).toMatch(/job_last_success_timestamp_seconds\{job="flaky"\} 1801479600/);
    // Due at 08:00, succeeded at 11:00: not late.
    expect(metrics).toMatch(/job_last_due_timestamp_seconds\{job="flaky"\} 1801468800\n/);
    expect(metrics).toMatch(/job_run_duration_seconds_count\{job="flaky",outcome="succeeded"\} 1/);

    // Failing for good: 1 h, 2 h, then 4 h apart until the next run would be overtaken.
    alwaysFail = true;
    await clock.runUntil(at('2027-02-03T07:30:00Z'), 2);
    const day2 = (await jobRuns(db.pool, { service, job: 'flaky' }))
      .filter((run) => run.scheduledFor.toISOString() === '2027-02-02T08:00:00.000Z')
      .map((run) => run.startedAt.toISOString());
    expect(day2).toEqual([
      '2027-02-02T08:00:00.000Z',
      '2027-02-02T09:00:00.000Z',
      '2027-02-02T11:00:00.000Z',
      '2027-02-02T15:00:00.000Z',
      '2027-02-02T19:00:00.000Z',
      '2027-02-02T23:00:00.000Z',
      '2027-02-03T03:00:00.000Z',
      '2027-02-03T07:00:00.000Z',
    ]);
    const claim = await db.pool.query('SELECT status FROM job_claims WHERE service = $1 AND scheduled_for = $2', [
      service,
      '2027-02-02T08:00:00Z',
    ]);
    expect(claim.rows).toEqual([{ status: 'failed' }]);
    const alerts = await db.pool.query<{ title: string; message: string; target_role: string; priority: string }>(
      `SELECT title, message, target_role, priority FROM notifications WHERE type = 'job_failed' AND title LIKE $1`,
      [`${service}:%`],
    );
    expect(alerts.rows).toEqual([
      {
        title: `${service}: scheduled job flaky failed`,
        message:
          'The run due at 2027-02-02T08:00:00.000Z failed 8 times and was retried until its next run was due; ' +
          'last error: WAREHOUSE_DOWN: the warehouse API refused (attempt 8). Inspect: `pipeline jobs list`. ' +
          `Once the cause is fixed, run it now: \`pipeline jobs run flaky --service ${service}\`.`,
        target_role: 'admin',
        priority: 'high',
      },
    ]);
    expect(await registry.metrics()).toMatch(/job_given_up_total\{job="flaky"\} 1/);
    // The 2 February run never succeeded: its due time is past the last success, which PipelineJobLate reports.
    expect(await registry.metrics()).toMatch(/job_last_due_timestamp_seconds\{job="flaky"\} 1801555200\n/);
    expect(await registry.metrics()).toMatch(/job_last_success_timestamp_seconds\{job="flaky"\} 1801479600\n/);
  }, 60_000);

  it('takes over a claim whose replica died mid-run, and runs that occurrence once more to success', async () => {
    const service = uniqueName('sched-takeover');
    const clock = new ManualClock(at('2027-05-01T07:00:00Z'));
    let releaseA: () => void = () => undefined;
    let startedA: () => void = () => undefined;
    const aIsRunning = new Promise<void>((resolve) => {
      startedA = resolve;
    });
    const ranOnB: string[] = [];
    const base = { name: 'nightly', cron: '0 8 * * *', timeZone: 'UTC' };
    await replicas(service, clock, {
      // Replica A hangs mid-run (and ignores its signal), until the test lets it go.
      A: {
        ...base,
        run: () => {
          startedA();
          return new Promise((resolve) => {
            releaseA = () => resolve({});
          });
        },
      },
      only: 'A',
    });
    // A claims the 08:00 run and hangs in it; B starts then, finds the run held by a live replica, and watches it.
    await clock.runUntil(at('2027-05-01T08:00:00Z'), 0);
    await aIsRunning;
    await replicas(service, clock, { A: { ...base, run: recording(ranOnB) }, only: 'B' });
    await clock.untilSleeping(1);
    expect((await db.pool.query('SELECT claimed_by, status FROM job_claims WHERE service = $1', [service])).rows).toEqual([
      { claimed_by: 'A', status: 'claimed' },
    ]);
    try {
      // A dies: PostgreSQL ends its sessions, and with them the occurrence's lock. pg_terminate_backend
      // only signals: wait until they are gone, as they would be once a dead process's sockets close.
      await db.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'scheduler-A'`);
      const gone = Date.now() + 10_000;
      while ((await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'scheduler-A'`)).rows.length > 0) {
        if (Date.now() > gone) throw new Error('replica A’s sessions did not end');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await clock.runUntil(at('2027-05-01T08:00:10Z'), 1);
    } finally {
      // Whatever happens above, A's hung run must end, or stopping it would wait forever.
      if (ranOnB.length === 0) releaseA();
    }
    expect(ranOnB).toEqual(['2027-05-01T08:00:00.000Z']);
    const runs = (await jobRuns(db.pool, { service, job: 'nightly' })).map((run) => [run.replica, run.attempt, run.outcome, run.error]);
    expect(runs).toEqual([
      ['A', 1, 'abandoned', 'its replica died (its session lock was gone); another replica took the run over'],
      ['B', 1, 'succeeded', null],
    ]);
    const claim = await db.pool.query('SELECT claimed_by, status FROM job_claims WHERE service = $1', [service]);
    expect(claim.rows).toEqual([{ claimed_by: 'B', status: 'succeeded' }]);
    // A's run ends after all: it changes nothing.
    releaseA();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await jobRuns(db.pool, { service, job: 'nightly' })).map((run) => run.outcome)).toEqual(['abandoned', 'succeeded']);
    expect((await db.pool.query('SELECT status FROM job_claims WHERE service = $1', [service])).rows).toEqual([{ status: 'succeeded' }]);
  }, 60_000);
});
