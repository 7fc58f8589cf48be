import type { Queryable } from '@pipeline/db';
import { isUuid } from '@pipeline/runtime';
import {
  INVENTORY_MANAGER_ROLE,
  type ItemView,
  LOW_INVENTORY_NOTIFICATION,
  type NotificationText,
  type Priority,
  REORDER_TASK_TYPE,
} from './texts';

/**
 * The watcher's SQL: the item, its open reorder task, and the rows it writes. Every function runs
 * inside the caller's transaction, after `lockItem`.
 */

export interface OpenTask {
  id: string;
  priority: string;
  status: string;
}

/**
 * Serialises everything the watcher does for one item (a change on any replica, the daily check)
 * until the transaction ends: the item's row is read after the lock, so a task is never created
 * from a row a concurrent restock has already changed and that restock's handler has looked past.
 * The application's own writes are never blocked.
 */
export async function lockItem(client: Queryable, inventoryId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 13))', [`inventory-reorder:${inventoryId}`]);
}

/** The item's current row with its supplier, or undefined when it no longer exists. */
export async function readItem(client: Queryable, inventoryId: string): Promise<ItemView | undefined> {
  // A task a person wrote may name anything: what is not a uuid names no item.
  if (!isUuid(inventoryId)) return undefined;
  const { rows } = await client.query<ItemView>(
    `SELECT i.id, i.sku, i.product_name, i.quantity, i.reorder_threshold, i.supplier_id,
            s.name AS supplier_name, s.default_order_quantity
       FROM inventory i LEFT JOIN suppliers s ON s.id = i.supplier_id
      WHERE i.id = $1`,
    [inventoryId],
  );
  return rows[0];
}

export async function openTaskOf(client: Queryable, inventoryId: string): Promise<OpenTask | undefined> {
  const { rows } = await client.query<OpenTask>(
    `SELECT id, priority, status FROM tasks
      WHERE type = $1 AND status IN ('open', 'in_progress') AND metadata->>'inventory_id' = $2`,
    [REORDER_TASK_TYPE, inventoryId],
  );
  return rows[0];
}

export interface NewTask {
  title: string;
  description: string;
  priority: Priority;
  metadata: Record<string, unknown>;
}

/**
 * Inserts the item's open reorder task; undefined when one is open already. The partial unique
 * index (migration 0008) decides: a conflict means "already open", never an error.
 */
export async function insertOpenTask(client: Queryable, task: NewTask): Promise<string | undefined> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO tasks (type, title, description, priority, status, metadata)
     VALUES ($1, $2, $3, $4, 'open', $5)
     ON CONFLICT ((metadata->>'inventory_id')) WHERE type = 'inventory_reorder' AND status IN ('open', 'in_progress')
     DO NOTHING
     RETURNING id`,
    [REORDER_TASK_TYPE, task.title, task.description, task.priority, JSON.stringify(task.metadata)],
  );
  return rows[0]?.id;
}

export async function updateTask(
  client: Queryable,
  taskId: string,
  change: { description?: string; priority?: Priority; status?: 'done' | 'cancelled'; metadata?: Record<string, unknown> },
): Promise<void> {
  await client.query(
    `UPDATE tasks
        SET description = coalesce($2, description),
            priority = coalesce($3, priority),
            status = coalesce($4, status),
            metadata = metadata || coalesce($5::jsonb, '{}'::jsonb),
            updated_at = now()
      WHERE id = $1`,
    [
      taskId,
      change.description ?? null,
      change.priority ?? null,
      change.status ?? null,
      change.metadata ? JSON.stringify(change.metadata) : null,
    ],
  );
}

export async function insertNotification(client: Queryable, text: NotificationText): Promise<void> {
  await client.query(
    `INSERT INTO notifications (type, title, message, action_url, target_role, priority)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [LOW_INVENTORY_NOTIFICATION, text.title, text.message, text.actionUrl, INVENTORY_MANAGER_ROLE, text.priority],
  );
}

/** Open reorder tasks whose item no longer exists (after a truncate, or a delete the watcher missed). */
export async function orphanedTaskItems(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ inventory_id: string }>(
    `SELECT t.metadata->>'inventory_id' AS inventory_id FROM tasks t
      WHERE t.type = $1 AND t.status IN ('open', 'in_progress') AND t.metadata ? 'inventory_id'
        AND NOT EXISTS (SELECT 1 FROM inventory i WHERE i.id::text = t.metadata->>'inventory_id')
      ORDER BY 1`,
    [REORDER_TASK_TYPE],
  );
  return rows.map((row) => row.inventory_id);
}

/** What the daily check looks at: how many items exist, the low ones without an open task, and open tasks of items no longer low. */
export async function dailyCheckCandidates(client: Queryable): Promise<{ checked: number; low: string[]; stale: string[] }> {
  const [{ rows: counted }, { rows: low }, { rows: stale }] = await Promise.all([
    client.query<{ n: string }>('SELECT count(*) AS n FROM inventory'),
    client.query<{ id: string }>(
      `SELECT i.id FROM inventory i
        WHERE i.quantity < i.reorder_threshold
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.type = $1 AND t.status IN ('open', 'in_progress')
                                                  AND t.metadata->>'inventory_id' = i.id::text)
        ORDER BY i.id`,
      [REORDER_TASK_TYPE],
    ),
    client.query<{ inventory_id: string }>(
      `SELECT t.metadata->>'inventory_id' AS inventory_id FROM tasks t
        WHERE t.type = $1 AND t.status IN ('open', 'in_progress') AND t.metadata ? 'inventory_id'
          AND NOT EXISTS (SELECT 1 FROM inventory i WHERE i.id::text = t.metadata->>'inventory_id'
                                                      AND i.quantity < i.reorder_threshold)
        ORDER BY 1`,
      [REORDER_TASK_TYPE],
    ),
  ]);
  return { checked: Number(counted[0]?.n ?? 0), low: low.map((row) => row.id), stale: stale.map((row) => row.inventory_id) };
}
