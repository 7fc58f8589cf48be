import { makePool } from '@pipeline/db';
import type { Stack } from '@pipeline/stack';
import { testClient, testPool } from './pg';
import { privateStack } from './private-stack';

/**
 * The flaky failure this guards against: a private PostgreSQL stopped while pools still hold
 * idle clients. Each of them emits `error` (57P01, terminating connection due to administrator
 * command); with a listener nothing is unhandled, and the test runner (which fails a test on an
 * unheard error event, see runner-self.unit.test.ts) has nothing to report.
 */
describe('idle connections when their server stops', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await privateStack(['postgres']);
    await stack.up();
  }, 120_000);
  afterAll(async () => {
    await stack?.destroy();
  });

  it('reach the listeners of makePool, testPool and testClient, and nothing is unhandled', async () => {
    const url = stack.endpoints.databaseUrl;
    const heard: string[] = [];
    const servicePool = makePool({ connectionString: url, applicationName: 'idle-service', max: 3 }, (error) =>
      heard.push((error as Error & { code?: string }).code ?? error.message),
    );
    const pool = testPool({ connectionString: url, max: 3 });
    const client = testClient({ connectionString: url });
    await client.connect();
    // Three clients at once in each pool, all idle afterwards.
    const sleepers = (p: typeof pool) => Promise.all([1, 2, 3].map(() => p.query('SELECT pg_sleep(0.05)')));
    await Promise.all([sleepers(servicePool), sleepers(pool), client.query('SELECT 1')]);
    expect(servicePool.idleCount).toBe(3);
    expect(pool.idleCount).toBe(3);

    await stack.down();
    const deadline = Date.now() + 10_000;
    while (heard.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual(['57P01', '57P01', '57P01']);
    // Time for any unheard error to surface and fail this test.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await Promise.all([servicePool.end(), pool.end(), client.end().catch(() => undefined)]);
  }, 60_000);
});
