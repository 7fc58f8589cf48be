import { makeLogger, parseConfig, type TaskOutcome } from '@pipeline/runtime';
import { createTestDatabase, sharedStack, type TestDatabase, uniqueName } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { consumerServiceEnvSchema } from './config';
import { startConsumerService } from './consumer-service';

const DAY_MS = 86_400_000;

/** The bookkeeping every consumer service keeps in check: history pruned by age, what guards replays counted. */
describe('bookkeeping', () => {
  let db: TestDatabase;
  const service = uniqueName('test-books');
  const other = uniqueName('test-books-other');
  const config = () =>
    parseConfig(service, consumerServiceEnvSchema({ httpPort: 9199 }), {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      BOOKKEEPING_RETENTION_DAYS: '30',
    });
  const context = (task?: { name: string; args: string[] }) => ({
    config: config(),
    logger: makeLogger({ service, level: 'silent' }),
    registry: new Registry(),
    fatal: jest.fn(),
    ...(task ? { task } : {}),
  });

  beforeAll(async () => {
    db = await createTestDatabase('books');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('prune-bookkeeping deletes the service’s outcomes, finished job runs and closed claims older than the retention, nothing else', async () => {
    const old = new Date(Date.now() - 40 * DAY_MS);
    const recent = new Date(Date.now() - 2 * DAY_MS);
    const outcome = (svc: string, at: Date, id: string) =>
      db.pool.query(
        `INSERT INTO event_outcomes (service, consumer_group, event_id, topic, "partition", "offset", outcome, recorded_at)
         VALUES ($1, $1, $2, 't', 0, 0, 'processed', $3)`,
        [svc, id, at],
      );
    await outcome(service, old, 'old-1');
    await outcome(service, old, 'old-2');
    await outcome(service, recent, 'recent');
    await outcome(other, old, 'other-old');
    await db.pool.query(
      `INSERT INTO jobs (service, name, cron, time_zone, registered_at, seen_at) VALUES ($1, 'daily', '0 8 * * *', 'UTC', $2, $2)`,
      [service, old],
    );
    const run = (outcomeName: string, at: Date) =>
      db.pool.query(
        `INSERT INTO job_runs (service, job, scheduled_for, trigger, attempt, replica, started_at, outcome) VALUES ($1, 'daily', $2, 'schedule', 1, 'r', $2, $3)`,
        [service, at, outcomeName],
      );
    await run('succeeded', old);
    await run('running', old);
    await run('failed', recent);
    await db.pool.query(
      `INSERT INTO job_claims (service, job, scheduled_for, claimed_by, claimed_at, status) VALUES ($1, 'daily', $2, 'r', $2, 'succeeded'), ($1, 'daily', $3, 'r', $3, 'claimed')`,
      [service, old, new Date(old.getTime() + 1)],
    );

    // Through the service's own job mode, as `pipeline jobs run prune-bookkeeping` does it.
    const started = await startConsumerService(context({ name: 'run-job', args: ['prune-bookkeeping'] }), { service, handlers: {} });
    const outcomeOfTask = (await started.task) as TaskOutcome;
    await started.stop();
    expect(outcomeOfTask.ok).toBe(true);
    expect(outcomeOfTask.result).toMatchObject({
      job: 'prune-bookkeeping',
      outcome: 'succeeded',
      items: 4,
      details: { outcomes: 2, jobRuns: 1, jobClaims: 1 },
    });

    const left = async (sql: string, params: unknown[]) => (await db.pool.query<{ v: string }>(sql, params)).rows.map((r) => r.v).sort();
    expect(await left('SELECT event_id AS v FROM event_outcomes WHERE service IN ($1, $2)', [service, other])).toEqual([
      'other-old',
      'recent',
    ]);
    expect(await left(`SELECT outcome AS v FROM job_runs WHERE service = $1 AND job = 'daily'`, [service])).toEqual(['failed', 'running']);
    expect(await left('SELECT status AS v FROM job_claims WHERE service = $1', [service])).toEqual(['claimed']);
  });

  it('exports the row counts of what is kept: processed_events per group, the effects ledger per status', async () => {
    await db.pool.query(`INSERT INTO processed_events (consumer, event_id) SELECT $1, 'e-' || g FROM generate_series(1, 3) g`, [service]);
    await db.pool.query(`INSERT INTO processed_events (consumer, event_id) VALUES ($1, 'elsewhere')`, [other]);
    await db.pool.query(
      `INSERT INTO effects_ledger (effect_key, effect, status) VALUES ('k1', 'email', 'claimed'), ('k2', 'email', 'recorded'), ('k3', 'email', 'recorded')`,
    );
    const ctx = context();
    const started = await startConsumerService(ctx, { service, handlers: {} });
    try {
      const metrics = await ctx.registry.metrics();
      expect(metrics).toMatch(new RegExp(`consumer_processed_events_rows\\{group="${service}"\\} 3`));
      expect(metrics).toMatch(/effects_ledger_rows\{status="claimed"\} 1/);
      expect(metrics).toMatch(/effects_ledger_rows\{status="recorded"\} 2/);
      expect(metrics).toMatch(/effects_ledger_rows\{status="abandoned"\} 0/);
      // Every service schedules the job, so `pipeline jobs list` shows it.
      const { rows } = await db.pool.query('SELECT cron, time_zone FROM jobs WHERE service = $1 AND name = $2', [
        service,
        'prune-bookkeeping',
      ]);
      expect(rows).toEqual([{ cron: '20 3 * * *', time_zone: 'UTC' }]);
    } finally {
      await started.stop();
    }
  });
});
