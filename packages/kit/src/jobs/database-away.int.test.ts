import { listJobs, loadMigrations, makePool, migrate } from '@pipeline/db';
import { makeLogger } from '@pipeline/runtime';
import { privateStack, testClient, testLogLevel } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { scheduleJob } from './scheduler';

/**
 * A service started while PostgreSQL restarts registers its scheduled jobs once the database is
 * back, instead of failing its start: found by the chaos run (issue 27), where the order-processor,
 * started again during a fast shutdown, exited with "the database system is shutting down" from
 * registering its bookkeeping job. On a PostgreSQL of the test's own, stopped and started.
 */
describe('scheduling a job while the database is away', () => {
  const stack = privateStack(['postgres']);

  afterAll(async () => {
    await (await stack).destroy();
  }, 60_000);

  it('waits for the database, then registers the job', async () => {
    const postgres = await stack;
    await postgres.up();
    const url = postgres.endpoints.databaseUrl;
    const client = testClient({ connectionString: url });
    await client.connect();
    await migrate(client, loadMigrations());
    await client.end();
    await postgres.down();

    const pool = makePool({ connectionString: url, applicationName: 'database-away', max: 2, connectionTimeoutMs: 1_000 });
    let failed: Error | undefined;
    const scheduling = scheduleJob(
      { service: 'away', pool, logger: makeLogger({ service: 'away', level: testLogLevel('silent') }), registry: new Registry() },
      { name: 'nightly', cron: '0 3 * * *', timeZone: 'UTC', run: async () => undefined },
    ).catch((error: Error) => {
      failed = error;
      return undefined;
    });
    try {
      // Long enough for several refused connections: the start is still waiting, not failed.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(failed).toBeUndefined();
      await postgres.up();
      const job = await scheduling;
      expect(failed).toBeUndefined();
      expect(job?.name).toBe('nightly');
      expect((await listJobs(pool, 'away')).map((j) => j.name)).toEqual(['nightly']);
      await job?.stop();
    } finally {
      await pool.end();
    }
  }, 180_000);
});
