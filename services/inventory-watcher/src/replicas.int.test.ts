import { eventually, testClient } from '@pipeline/testing';
import type pg from 'pg';
import { insertItem, notificationsOf, reorderTasks, setQuantity, type WatcherStack, watcherStack } from './__tests__/harness';

/** Sleeps each replica's scheduler keeps between occurrences: the daily check and prune-bookkeeping. */
const SLEEPERS_PER_REPLICA = 2;
const DAY = 86_400_000;

/**
 * Two replicas of the watcher on one consumer group and one scheduler clock: a crossing and the
 * daily check racing for the same item, the check once per occurrence, and the database refusing
 * a second open task whoever writes it.
 */
describe('inventory-watcher: two replicas', () => {
  let stack: WatcherStack;
  let locker: pg.Client;

  beforeAll(async () => {
    stack = await watcherStack('invrep', { replicas: 2 });
    locker = testClient({ connectionString: stack.db.url });
    await locker.connect();
    await stack.clock.untilSleeping(2 * SLEEPERS_PER_REPLICA);
  }, 120_000);
  afterAll(async () => {
    await locker?.end();
    await stack?.close();
  });

  /** Tasks created by `source`, summed over both replicas' /metrics. */
  const createdBy = async (source: string) => {
    const texts = await Promise.all(
      stack.replicas.map(({ registry }) => registry.getSingleMetricAsString('inventory_reorder_tasks_created_total')),
    );
    const pattern = new RegExp(`^inventory_reorder_tasks_created_total\\{source="${source}"\\} (\\d+)$`, 'gm');
    return texts.reduce((sum, text) => sum + [...text.matchAll(pattern)].reduce((n, match) => n + Number(match[1]), 0), 0);
  };

  const scheduledRuns = async () => {
    const { rows } = await stack.db.pool.query<{ scheduled_for: Date; outcome: string; items: number; details: { created: unknown[] } }>(
      `SELECT scheduled_for, outcome, items, details FROM job_runs
        WHERE service = 'inventory-watcher' AND job = 'daily-check' AND trigger = 'schedule' ORDER BY scheduled_for, id`,
    );
    return rows.map((row) => ({
      at: row.scheduled_for.toISOString(),
      outcome: row.outcome,
      items: row.items,
      created: row.details?.created?.length,
    }));
  };

  it('a crossing and the daily check for the same item at the same moment on two replicas: one task, one notification', async () => {
    const id = await insertItem(stack, {
      name: 'Contended item',
      quantity: 20,
      threshold: 10,
      supplier: { name: 'Acme', defaultOrderQuantity: 25 },
    });
    await stack.settled();
    // Both wait for the item's lock, which the test holds: then both go at once.
    await locker.query('SELECT pg_advisory_lock(hashtextextended($1, 13))', [`inventory-reorder:${id}`]);
    await setQuantity(stack, id, 4);
    const daily = stack.clock.runUntil(Date.parse('2027-01-11T08:00:00Z'), 2 * SLEEPERS_PER_REPLICA);
    await eventually('the crossing and the daily check waiting for the item', async () => {
      const { rows } = await stack.db.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      return Number(rows[0]?.n) === 2 ? true : undefined;
    });
    await locker.query('SELECT pg_advisory_unlock(hashtextextended($1, 13))', [`inventory-reorder:${id}`]);
    await daily;
    await stack.settled();

    const tasks = await reorderTasks(stack.db, id);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: 'open', priority: 'high', metadata: { suggested_quantity: 25 } });
    expect(await notificationsOf(stack.db, id)).toHaveLength(1);
    expect(await scheduledRuns()).toEqual([
      { at: '2027-01-11T08:00:00.000Z', outcome: 'succeeded', items: 1, created: expect.any(Number) },
    ]);

    // Whoever writes it, the database refuses a second open reorder task for the item.
    await expect(
      stack.db.pool.query(
        `INSERT INTO tasks (type, title, status, metadata) VALUES ('inventory_reorder', 'By hand', 'in_progress', jsonb_build_object('inventory_id', $1::text))`,
        [id],
      ),
    ).rejects.toThrow(/duplicate key value violates unique constraint "tasks_one_open_reorder_per_item_idx"/);
  }, 60_000);

  it('runs the daily check once per day across replicas; it opens tasks only for low items without one', async () => {
    const closedByHand = await insertItem(stack, { name: 'Closed by hand', quantity: 3, threshold: 10 });
    const stillOpen = await insertItem(stack, { name: 'Still open', quantity: 2, threshold: 10 });
    const healthy = await insertItem(stack, { name: 'Healthy', quantity: 30, threshold: 10 });
    await eventually('both low items’ tasks', async () =>
      (await reorderTasks(stack.db, closedByHand)).length + (await reorderTasks(stack.db, stillOpen)).length === 2 ? true : undefined,
    );
    await stack.settled();
    // Someone marks the task done while the stock is still low: no change will open another; the daily check does.
    await stack.db.pool.query(`UPDATE tasks SET status = 'done' WHERE metadata->>'inventory_id' = $1`, [closedByHand]);

    const dailyBefore = await createdBy('daily_check');
    await stack.clock.runUntil(Date.parse('2027-01-12T07:59:00Z'), 2 * SLEEPERS_PER_REPLICA);
    expect(await scheduledRuns()).toHaveLength(1);
    await stack.clock.runUntil(Date.parse('2027-01-12T08:00:00Z'), 2 * SLEEPERS_PER_REPLICA);
    await stack.clock.runUntil(Date.parse('2027-01-12T08:00:00Z') + DAY / 2, 2 * SLEEPERS_PER_REPLICA);
    expect(await scheduledRuns()).toEqual([
      { at: '2027-01-11T08:00:00.000Z', outcome: 'succeeded', items: 1, created: expect.any(Number) },
      { at: '2027-01-12T08:00:00.000Z', outcome: 'succeeded', items: 4, created: 1 },
    ]);
    const reopened = await reorderTasks(stack.db, closedByHand);
    expect(reopened.map((task) => [task.status, task.metadata.source])).toEqual([
      ['done', 'change'],
      ['open', 'daily_check'],
    ]);
    expect((await notificationsOf(stack.db, closedByHand)).map((n) => n.message)).toEqual([
      'Stock is at 3. A reorder task has been created.',
      'Stock is at 3. A reorder task has been created.',
    ]);
    expect(await reorderTasks(stack.db, stillOpen)).toHaveLength(1);
    expect(await reorderTasks(stack.db, healthy)).toEqual([]);

    // Its metrics, on whichever replica ran it.
    const metrics = await Promise.all(
      stack.replicas.map(({ registry }) => registry.getSingleMetricAsString('inventory_daily_check_runs_total')),
    );
    const succeeded = metrics.map((text) => Number(/outcome="succeeded"} (\d+)/.exec(text)?.[1] ?? 0));
    expect(succeeded.reduce((a, b) => a + b, 0)).toBe(2);
    // The first test's race is won by the change or by the daily check (either is right): count only this day's.
    expect((await createdBy('daily_check')) - dailyBefore).toBe(1);
    expect(await createdBy('snapshot')).toBe(0);
  }, 60_000);
});
