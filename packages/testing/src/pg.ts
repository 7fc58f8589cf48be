import pg from 'pg';

/**
 * A pool for test code. Its idle clients emit `error` when their server goes away (a test that
 * stops or restarts a private PostgreSQL, a database dropped at the end): expected there, and
 * without a listener that event would fail whichever test runs at that moment.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', () => undefined);
  return pool;
}

/** A client for test code, with an `error` listener for the same reason (queries still reject on their own). */
export function testClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  return client;
}
