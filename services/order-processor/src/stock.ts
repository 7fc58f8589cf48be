import type { Queryable } from '@pipeline/db';
import type { OrderItemView } from './order';

/** An item the stock could not cover. */
export interface ShortItem {
  inventoryId: string;
  name: string;
  wanted: number;
  available: number;
}

export type Reservation = { status: 'reserved'; items: number } | { status: 'already-reserved' } | { status: 'short'; short: ShortItem[] };

/**
 * Takes the stock an order's items need, all or nothing, inside the caller's transaction. The
 * inventory rows are locked in id order (every order locks in the same order, so two orders
 * cannot deadlock), then checked, then decremented; each decrement is recorded in
 * `stock_reservations`, unique per order and item, so a redelivered order finds its reservation
 * and takes nothing twice. The decrements are ordinary row changes: the inventory-watcher sees them.
 */
export async function reserveStock(client: Queryable, orderId: string, items: readonly OrderItemView[]): Promise<Reservation> {
  const { rows: existing } = await client.query('SELECT 1 FROM stock_reservations WHERE order_id = $1 LIMIT 1', [orderId]);
  if (existing.length > 0) return { status: 'already-reserved' };
  const stocked = items.filter((item): item is OrderItemView & { inventoryId: string } => item.inventoryId !== null);
  if (stocked.length === 0) return { status: 'reserved', items: 0 };
  const wanted = new Map<string, number>();
  for (const item of stocked) wanted.set(item.inventoryId, (wanted.get(item.inventoryId) ?? 0) + item.quantity);
  const ids = [...wanted.keys()].sort();
  // NO KEY UPDATE, not UPDATE: a new order's items take KEY SHARE locks on these rows for their
  // foreign key, in whatever order the application wrote them; FOR UPDATE conflicts with those and
  // deadlocked the application's inserts (found by the demo at 66 actions/s). Two reservations still wait for each other.
  const { rows: levels } = await client.query<{ id: string; quantity: number; product_name: string }>(
    'SELECT id, quantity, product_name FROM inventory WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE',
    [ids],
  );
  const byId = new Map(levels.map((level) => [level.id, level]));
  const short: ShortItem[] = ids
    .map((id) => ({ id, level: byId.get(id), want: wanted.get(id) ?? 0 }))
    .filter(({ level, want }) => !level || level.quantity < want)
    .map(({ id, level, want }) => ({
      inventoryId: id,
      name: level?.product_name ?? stocked.find((item) => item.inventoryId === id)?.name ?? id,
      wanted: want,
      available: level?.quantity ?? 0,
    }));
  if (short.length > 0) return { status: 'short', short };
  for (const id of ids) {
    await client.query('UPDATE inventory SET quantity = quantity - $2, updated_at = now() WHERE id = $1', [id, wanted.get(id)]);
  }
  await client.query(
    `INSERT INTO stock_reservations (order_id, order_item_id, inventory_id, quantity)
     SELECT $1, unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::int[])`,
    [orderId, stocked.map((item) => item.id), stocked.map((item) => item.inventoryId), stocked.map((item) => item.quantity)],
  );
  return { status: 'reserved', items: stocked.length };
}

/**
 * Gives back what a cancelled order took, once: the reservations not yet released are marked
 * released and their quantities returned, in the same id order as `reserveStock` locks.
 */
export async function releaseStock(client: Queryable, orderId: string): Promise<number> {
  const { rows } = await client.query<{ inventory_id: string; quantity: string }>(
    `WITH released AS (
       UPDATE stock_reservations SET released_at = now()
        WHERE order_id = $1 AND released_at IS NULL
       RETURNING inventory_id, quantity
     )
     SELECT inventory_id, sum(quantity)::text AS quantity FROM released GROUP BY inventory_id ORDER BY inventory_id`,
    [orderId],
  );
  for (const row of rows) {
    await client.query('UPDATE inventory SET quantity = quantity + $2, updated_at = now() WHERE id = $1', [
      row.inventory_id,
      Number(row.quantity),
    ]);
  }
  return rows.length;
}
