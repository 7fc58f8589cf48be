import { loadMigrations, migrate } from '@pipeline/db';
import { createEmptyDatabase, createTestDatabase, type TestDatabase, testClient } from '@pipeline/testing';
import { insertOpenTask } from './store';

/** The database's side of "one open reorder task per item": the index, the watcher's insert, and the migration that builds it. */
describe('one open reorder task per item', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('invstore');
  });
  afterAll(async () => {
    await db.drop();
  });

  const task = (inventoryId: string, title = 'Reorder: x') => ({
    title,
    description: 'd',
    priority: 'high' as const,
    metadata: { inventory_id: inventoryId, supplier_id: null, suggested_quantity: 100 },
  });

  it('the watcher’s insert reads a conflict as "already open": no error, no second task', async () => {
    const item = '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162';
    const first = await insertOpenTask(db.pool, task(item));
    expect(first).toEqual(expect.any(String));
    expect(await insertOpenTask(db.pool, task(item, 'Reorder: again'))).toBeUndefined();
    // Done and cancelled tasks do not count; a new open one may follow them.
    await db.pool.query(`UPDATE tasks SET status = 'done' WHERE id = $1`, [first]);
    expect(await insertOpenTask(db.pool, task(item))).toEqual(expect.any(String));
    const { rows } = await db.pool.query<{ status: string }>(
      `SELECT status FROM tasks WHERE metadata->>'inventory_id' = $1 ORDER BY created_at, id`,
      [item],
    );
    expect(rows.map((row) => row.status)).toEqual(['done', 'open']);
  });

  it('migration 0008 keeps the oldest of duplicate open tasks and cancels the rest, saying which one it kept', async () => {
    const empty = await createEmptyDatabase('inv0008');
    const client = testClient({ connectionString: empty.url });
    await client.connect();
    try {
      const all = loadMigrations();
      await migrate(
        client,
        all.filter((m) => m.version < 8),
      );
      const item = '0b6d2a4e-1111-4c1f-9a7b-1d2e3f405162';
      const { rows: made } = await client.query<{ id: string }>(
        `INSERT INTO tasks (type, title, status, metadata, created_at)
         SELECT 'inventory_reorder', 'Reorder: dup ' || g, CASE WHEN g = 3 THEN 'in_progress' ELSE 'open' END,
                jsonb_build_object('inventory_id', $1::text), now() - make_interval(mins => 10 - g)
           FROM generate_series(1, 3) g ORDER BY g RETURNING id`,
        [item],
      );
      await migrate(client, all);
      const { rows } = await client.query<{ id: string; status: string; reason: string | null; kept: string | null }>(
        `SELECT id, status, metadata->>'reason' AS reason, metadata->>'duplicate_of' AS kept FROM tasks ORDER BY created_at`,
      );
      expect(rows).toEqual([
        { id: made[0]?.id, status: 'open', reason: null, kept: null },
        { id: made[1]?.id, status: 'cancelled', reason: 'duplicate open reorder task', kept: made[0]?.id },
        { id: made[2]?.id, status: 'cancelled', reason: 'duplicate open reorder task', kept: made[0]?.id },
      ]);
      await expect(
        client.query(
          `INSERT INTO tasks (type, title, metadata) VALUES ('inventory_reorder', 'x', jsonb_build_object('inventory_id', $1::text))`,
          [item],
        ),
      ).rejects.toThrow(/tasks_one_open_reorder_per_item_idx/);
    } finally {
      await client.end();
      await empty.drop();
    }
  });
});
