import { makePool, type Pool } from '@pipeline/db';
import type { Stack } from '@pipeline/stack';
import { eventually, privateStack, uniqueName } from '@pipeline/testing';
import { migratePrivateDatabase } from '../../cdc-reader/src/__tests__/harness';
import { WebhookStack } from './__tests__/harness';
import { Receiver } from './__tests__/receiver';

/**
 * PostgreSQL stopped (a private server of this test's) while deliveries are in flight: the
 * receiver answers 200 only after the server is gone, so recording each attempt fails. The
 * dispatcher stays up, records them once PostgreSQL is back, and sends nothing twice: every
 * webhook-id reaches the receiver once.
 */
describe('webhook-dispatcher when PostgreSQL goes away mid-delivery', () => {
  let server: Stack;
  let pool: Pool;
  let stack: WebhookStack;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    server = await privateStack(['postgres']);
    await server.up();
    const urls = await migratePrivateDatabase(server.endpoints.databaseUrl);
    pool = makePool({ connectionString: urls.ownerUrl, applicationName: 'test:settle-outage', max: 3 });
    stack = new WebhookStack({
      db: { name: 'pipeline', url: urls.ownerUrl, readerUrl: urls.readerUrl, pool, drop: async () => undefined },
      // The reader comes back quickly once PostgreSQL does.
      readerEnv: { CDC_RECONNECT_MAX_DELAY_MS: '1000' },
    });
    await stack.start();
  }, 180_000);

  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.stop()));
    await stack?.stop();
    await pool?.end().catch(() => undefined);
    await server?.destroy();
  }, 60_000);

  it('stays up while settles fail, records them once PostgreSQL is back, and delivers each webhook-id once', async () => {
    const postgres = server.component('postgres');
    const r = new Receiver(() => 'hang');
    receivers.push(await r.start());
    await stack.subscribe({ url: r.url, tables: ['public.suppliers'], maxConcurrency: 8 });
    const dispatcher = stack.dispatcher;
    if (!dispatcher) throw new Error('no dispatcher');

    const before = uniqueName('before');
    await pool.query(`INSERT INTO suppliers (name) SELECT $1 || '-' || g FROM generate_series(1, 5) g`, [before]);
    await eventually('five requests in flight', async () => (r.requests.length + r.hangingCount() >= 5 ? true : undefined), 60_000);
    // The server goes away while every attempt waits for its answer; then the answers come.
    await postgres.down();
    r.release();
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(dispatcher.process.exitCode).toBeNull();
    expect(dispatcher.process.signalCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${dispatcher.port}/healthz`)).status).toBe(200);
    expect(r.requests.filter((q) => q.body.includes(before))).toHaveLength(5);
    await dispatcher.waitForLine(/could not record a webhook attempt/, 10_000);

    await postgres.up();
    const after = uniqueName('after');
    await eventually(
      'a write once PostgreSQL is back',
      async () => pool.query(`INSERT INTO suppliers (name) SELECT $1 || '-' || g FROM generate_series(1, 5) g`, [after]).then(() => true),
      60_000,
    );
    await eventually(
      'all ten delivered and recorded',
      async () => {
        const { rows } = await pool.query<{ delivered: number }>(
          `SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'delivered' AND (payload->'record'->>'name' LIKE $1 OR payload->'record'->>'name' LIKE $2)`,
          [`${before}-%`, `${after}-%`],
        );
        return rows[0]?.delivered === 10 ? true : undefined;
      },
      90_000,
    );
    const mine = r.requests.filter((q) => q.body.includes(before) || q.body.includes(after));
    const ids = mine.map((q) => String(q.headers['webhook-id']));
    expect(ids).toHaveLength(10);
    expect(new Set(ids).size).toBe(10);
    expect(dispatcher.process.exitCode).toBeNull();
  }, 240_000);
});
