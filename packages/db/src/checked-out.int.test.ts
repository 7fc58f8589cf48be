import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, inheritedEnv, type TestDatabase } from '@pipeline/testing';

/**
 * A client checked out of a `makePool` pool whose connection is cut while it waits between queries
 * (as a PostgreSQL restart cuts every connection) must not end the process: its next query fails,
 * and the pool goes on. Found by the chaos run (issue 27): the order-processor, holding its effect
 * lock while an email was sent, died of "Unhandled 'error' event" on a fast shutdown. Run in a
 * child process, where an unhandled 'error' event ends the process as it would a service.
 */
const SCRIPT = `
const { makePool } = require('@pipeline/db');
(async () => {
  const pool = makePool({ connectionString: process.env.DATABASE_URL, applicationName: 'checked-out-test', max: 2 });
  const held = await pool.connect();
  const { rows } = await held.query('SELECT pg_backend_pid() AS pid');
  const other = makePool({ connectionString: process.env.DATABASE_URL, applicationName: 'checked-out-killer', max: 1 });
  await other.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
  await other.end();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const next = await held.query('SELECT 1').then(() => 'answered', (error) => 'failed: ' + error.message);
  held.release(true);
  const after = await pool.query('SELECT 42 AS n');
  await pool.end();
  process.stdout.write(JSON.stringify({ next, after: after.rows[0].n }));
})();
`;

describe('a client checked out of the pool when its connection is cut', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('checkedout');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('does not end the process: its next query fails, and the pool goes on', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', SCRIPT], {
      cwd: join(__dirname, '..'),
      env: { ...inheritedEnv(), DATABASE_URL: db.url },
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { next: string; after: number };
    expect(result.next).toMatch(/^failed: /);
    expect(result.after).toBe(42);
  }, 60_000);
});
