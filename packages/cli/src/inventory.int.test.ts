import { createTestDatabase, runPipeline, type TestDatabase } from '@pipeline/testing';

/**
 * `pipeline inventory check` runs inventory-watcher's daily check now, through the service's own
 * entry point in job mode, and says what it did: tasks only for low items without an open one.
 */
describe('pipeline inventory check', () => {
  let db: TestDatabase;
  const items: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase('cli_inventory');
    const { rows: supplier } = await db.pool.query<{ id: string }>(
      `INSERT INTO suppliers (name, default_order_quantity) VALUES ('Hurtownia Łódź', 60) RETURNING id`,
    );
    for (const [name, quantity, threshold, supplierId] of [
      ['Lampa „Świt”', 2, 10, supplier[0]?.id],
      ['Already handled', 1, 10, null],
      ['Healthy', 50, 10, null],
      ['Restocked unseen', 40, 10, null],
    ] as const) {
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold, supplier_id) VALUES ($1, $1, $2, $3, $4) RETURNING id`,
        [name, quantity, threshold, supplierId],
      );
      items[name] = rows[0]?.id as string;
    }
    // Open tasks the watcher made earlier: one for an item still low, one for an item restocked while nobody watched.
    for (const name of ['Already handled', 'Restocked unseen']) {
      await db.pool.query(
        `INSERT INTO tasks (type, title, priority, metadata) VALUES ('inventory_reorder', $1, 'high', jsonb_build_object('inventory_id', $2::text))`,
        [`Reorder: ${name}`, items[name]],
      );
    }
  });
  afterAll(async () => {
    await db.drop();
  });

  const pipeline = (args: string[]) => runPipeline(['inventory', 'check', ...args, '--database-url', db.url], { LOG_LEVEL: 'warn' });
  const openTasks = async () =>
    (
      await db.pool.query<{ title: string; priority: string; source: string | null }>(
        `SELECT title, priority, metadata->>'source' AS source FROM tasks WHERE status = 'open' ORDER BY title`,
      )
    ).rows;

  it('opens a task for each low item without one, closes what was restocked, and prints what it did', async () => {
    const first = pipeline([]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(
      /^daily check: 4 items checked, 1 low without an open reorder task, 1 task created, 1 closed \(restocked\), 0 cancelled \(item gone\) in \d+ ms \(run \d+\)\n/,
    );
    expect(first.stdout).toContain(`Lampa „Świt”  2 / 10             ${items['Lampa „Świt”']}  /tasks/`);
    expect(await openTasks()).toEqual([
      { title: 'Reorder: Already handled', priority: 'high', source: null },
      { title: 'Reorder: Lampa „Świt”', priority: 'high', source: 'daily_check' },
    ]);
    const { rows: notes } = await db.pool.query('SELECT title, message, target_role FROM notifications');
    expect(notes).toEqual([
      {
        title: 'Low Inventory Alert: Lampa „Świt”',
        message: 'Stock is at 2. A reorder task has been created.',
        target_role: 'inventory_manager',
      },
    ]);

    // Run again: nothing is low without a task any more.
    const second = pipeline(['--json']);
    expect(second.status).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      service: 'inventory-watcher',
      job: 'daily-check',
      trigger: 'manual',
      outcome: 'succeeded',
      items: 4,
      details: { checked: 4, lowWithoutTask: 0, created: [], closed: 0, cancelled: 0 },
    });
    expect(await openTasks()).toHaveLength(2);
    const { rows: runs } = await db.pool.query(
      `SELECT trigger, outcome, items FROM job_runs WHERE service = 'inventory-watcher' AND job = 'daily-check' ORDER BY id`,
    );
    expect(runs).toEqual([
      { trigger: 'manual', outcome: 'succeeded', items: 4 },
      { trigger: 'manual', outcome: 'succeeded', items: 4 },
    ]);
  }, 60_000);
});
