import { randomUUID } from 'node:crypto';
import { withTransaction } from '@pipeline/db';
import { createTestDatabase, eventually, type TestDatabase } from '@pipeline/testing';
import { Partitioners } from 'kafkajs';
import { emailsTo, type OrderStack, orderStack, orderStatus, placeOrder } from './__tests__/harness';
import { loadOrder } from './order';
import { reserveStock } from './stock';

/** An order id whose change lands on `partition` of a 3-partition cdc topic (the reader keys a row by its id). */
function idOnPartition(partition: number): string {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));
  for (;;) {
    const id = randomUUID();
    if (partitioner({ topic: 't', partitionMetadata, message: { key: id, value: null } }) === partition) return id;
  }
}

describe('stock reservation', () => {
  describe('end to end', () => {
    let stack: OrderStack;
    beforeAll(async () => {
      stack = await orderStack('stock');
      await stack.startProcessor({ CONSUMER_CONCURRENCY: '3' });
      await stack.startWatcher();
    }, 120_000);
    afterAll(async () => {
      await stack?.close();
    });

    const item = async (name: string, quantity: number, threshold = 0) =>
      (
        await stack.db.pool.query<{ id: string }>(
          'INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ($1, $1, $2, $3) RETURNING id',
          [name, quantity, threshold],
        )
      ).rows[0]?.id as string;
    const quantityOf = async (id: string) =>
      (await stack.db.pool.query('SELECT quantity FROM inventory WHERE id = $1', [id])).rows[0]?.quantity;
    const settledStatus = (orderId: string, status: string) =>
      eventually(`order ${orderId} ${status}`, async () => ((await orderStatus(stack.db, orderId)).status === status ? true : undefined));

    it('two orders for the last 5 units on two partitions at once: one confirmed, one on hold for sales, stock 0, and the watcher’s reorder task', async () => {
      const lamp = await item('Lampa', 5, 2);
      const [a, b] = await Promise.all(
        [0, 1].map((partition) =>
          placeOrder(stack.db, {
            id: idOnPartition(partition),
            customer: { name: `Buyer ${partition}` },
            items: [{ name: 'Lampa', quantity: 5, price: '12.00', inventoryId: lamp }],
          }),
        ),
      );
      const ids = [a?.orderId, b?.orderId] as string[];
      await eventually('both orders decided', async () => {
        const statuses = await Promise.all(ids.map(async (id) => (await orderStatus(stack.db, id)).status));
        return statuses.every((status) => status !== 'pending') ? statuses : undefined;
      });
      await stack.settled();
      const statuses = await Promise.all(ids.map(async (id) => (await orderStatus(stack.db, id)).status));
      expect([...statuses].sort()).toEqual(['confirmed', 'on_hold']);
      expect(await quantityOf(lamp)).toBe(0);
      const held = ids[statuses.indexOf('on_hold')] as string;
      const { rows: holds } = await stack.db.pool.query('SELECT reason, short_items FROM order_holds WHERE order_id = $1', [held]);
      expect(holds).toEqual([
        {
          reason: 'not enough stock: Lampa (wanted 5, 0 in stock)',
          short_items: [{ inventoryId: lamp, name: 'Lampa', wanted: 5, available: 0 }],
        },
      ]);
      const { rows: notes } = await stack.db.pool.query(`SELECT type, message, target_role FROM notifications WHERE action_url = $1`, [
        `/orders/${held}`,
      ]);
      expect(notes).toEqual([
        {
          type: 'order_on_hold',
          message: `Order ${held} is on hold: not enough stock of Lampa (wanted 5, 0 in stock). Restock, then set the order back to pending.`,
          target_role: 'sales',
        },
      ]);
      const heldEmail = held === a?.orderId ? a.email : b?.email;
      expect(await emailsTo(heldEmail ?? '')).toEqual([]);
      expect((await stack.db.pool.query('SELECT count(*)::int AS n FROM invoices WHERE order_id = $1', [held])).rows).toEqual([{ n: 0 }]);
      // The decrement is an ordinary change: the inventory-watcher saw the lamp run out.
      await eventually('the watcher’s reorder task', async () => {
        const { rows } = await stack.db.pool.query(
          `SELECT priority FROM tasks WHERE type = 'inventory_reorder' AND metadata->>'inventory_id' = $1`,
          [lamp],
        );
        return rows.length > 0 ? rows : undefined;
      });

      // Restocked and set back to pending, the held order goes through like a new one.
      await stack.db.pool.query('UPDATE inventory SET quantity = 7 WHERE id = $1', [lamp]);
      await stack.db.pool.query(`UPDATE orders SET status = 'pending' WHERE id = $1`, [held]);
      await settledStatus(held, 'confirmed');
      expect(await quantityOf(lamp)).toBe(2);
      expect(await emailsTo(heldEmail ?? '')).toHaveLength(1);
    }, 90_000);

    it('a cancelled order gets its stock back once and one email; a shipped one its email, once', async () => {
      const mug = await item('Kubek', 10);
      const first = await placeOrder(stack.db, {
        customer: { name: 'Cancelling' },
        items: [{ name: 'Kubek', quantity: 4, price: '3.00', inventoryId: mug }],
      });
      const second = await placeOrder(stack.db, {
        customer: { name: 'Shipping' },
        items: [{ name: 'Kubek', quantity: 1, price: '3.00', inventoryId: mug }],
      });
      await settledStatus(first.orderId, 'confirmed');
      await settledStatus(second.orderId, 'confirmed');
      expect(await quantityOf(mug)).toBe(5);
      await stack.db.pool.query(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, [first.orderId]);
      await stack.db.pool.query(`UPDATE orders SET status = 'shipped' WHERE id = $1`, [second.orderId]);
      await eventually('the status emails', async () =>
        (await emailsTo(first.email)).length === 2 && (await emailsTo(second.email)).length === 2 ? true : undefined,
      );
      await stack.settled();
      expect(await quantityOf(mug)).toBe(9);
      expect((await emailsTo(first.email)).map((email) => email.subject)).toEqual([
        expect.stringMatching(/is confirmed/),
        `Your order ${first.orderId} was cancelled`,
      ]);
      expect((await emailsTo(second.email)).map((email) => email.subject)).toEqual([
        expect.stringMatching(/is confirmed/),
        `Your order ${second.orderId} has shipped`,
      ]);
      // A second cancel (say after a manual fix) returns nothing more and sends nothing more.
      await stack.db.pool.query(`UPDATE orders SET status = 'confirmed' WHERE id = $1`, [first.orderId]);
      await stack.db.pool.query(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, [first.orderId]);
      await stack.settled();
      expect(await quantityOf(mug)).toBe(9);
      expect(await emailsTo(first.email)).toHaveLength(2);
    }, 90_000);
  });

  describe('reserveStock from two connections released together', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase('reserve');
    });
    afterAll(async () => {
      await db.drop();
    });

    const orderFor = async (items: { inventoryId: string; quantity: number }[]) => {
      const { rows: customer } = await db.pool.query<{ id: string }>(`INSERT INTO customers (email, name) VALUES ($1, 'x') RETURNING id`, [
        `${randomUUID()}@example.com`,
      ]);
      const { rows: order } = await db.pool.query<{ id: string }>(`INSERT INTO orders (customer_id, total) VALUES ($1, 0) RETURNING id`, [
        customer[0]?.id,
      ]);
      for (const item of items) {
        await db.pool.query(`INSERT INTO order_items (order_id, inventory_id, name, quantity, price) VALUES ($1, $2, 'x', $3, 0)`, [
          order[0]?.id,
          item.inventoryId,
          item.quantity,
        ]);
      }
      return order[0]?.id as string;
    };
    /** Both transactions open, then both reservations start at once. */
    const race = async (orders: string[]) => {
      let release!: () => void;
      const barrier = new Promise<void>((resolve) => {
        release = resolve;
      });
      let ready = 0;
      const runs = orders.map((orderId) =>
        withTransaction(db.pool, async (client) => {
          const order = await loadOrder(client, orderId);
          ready += 1;
          if (ready === orders.length) release();
          await barrier;
          return reserveStock(client, orderId, order?.items ?? []);
        }),
      );
      return Promise.all(runs);
    };
    const stockOf = async (id: string) => (await db.pool.query('SELECT quantity FROM inventory WHERE id = $1', [id])).rows[0]?.quantity;
    const newItem = async (quantity: number) =>
      (
        await db.pool.query<{ id: string }>(`INSERT INTO inventory (sku, product_name, quantity) VALUES ($1, 'x', $2) RETURNING id`, [
          randomUUID(),
          quantity,
        ])
      ).rows[0]?.id as string;

    it('the last 5 units to one of two orders wanting 5 each; never below zero', async () => {
      const id = await newItem(5);
      const results = await race([await orderFor([{ inventoryId: id, quantity: 5 }]), await orderFor([{ inventoryId: id, quantity: 5 }])]);
      expect(results.map((result) => result.status).sort()).toEqual(['reserved', 'short']);
      expect(results.find((result) => result.status === 'short')).toEqual({
        status: 'short',
        short: [{ inventoryId: id, name: 'x', wanted: 5, available: 0 }],
      });
      expect(await stockOf(id)).toBe(0);
    });

    it('orders wanting the same two items in opposite orders never deadlock: the rows are locked in one order', async () => {
      const [x, y] = [await newItem(100), await newItem(100)] as [string, string];
      for (let round = 0; round < 20; round++) {
        const results = await race([
          await orderFor([
            { inventoryId: x, quantity: 1 },
            { inventoryId: y, quantity: 1 },
          ]),
          await orderFor([
            { inventoryId: y, quantity: 1 },
            { inventoryId: x, quantity: 1 },
          ]),
        ]);
        expect(results.map((result) => result.status)).toEqual(['reserved', 'reserved']);
      }
      expect([await stockOf(x), await stockOf(y)]).toEqual([60, 60]);
    });

    it('a reservation in progress never holds up the application writing another order’s items for the same stock', async () => {
      const [x, y] = [await newItem(100), await newItem(100)] as [string, string];
      const reserving = await orderFor([
        { inventoryId: x, quantity: 1 },
        { inventoryId: y, quantity: 1 },
      ]);
      const { rows: customer } = await db.pool.query<{ id: string }>(`INSERT INTO customers (email, name) VALUES ($1, 'y') RETURNING id`, [
        `${randomUUID()}@example.com`,
      ]);
      await withTransaction(db.pool, async (client) => {
        const order = await loadOrder(client, reserving, true);
        expect((await reserveStock(client, reserving, order?.items ?? [])).status).toBe('reserved');
        // Still inside the reservation's transaction: the application writes an order whose items
        // reference the same rows (their foreign keys lock them KEY SHARE), in the other order.
        const app = await db.pool.connect();
        try {
          await app.query("SET lock_timeout = '2s'");
          await app.query('BEGIN');
          const { rows } = await app.query<{ id: string }>('INSERT INTO orders (customer_id, total) VALUES ($1, 0) RETURNING id', [
            customer[0]?.id,
          ]);
          for (const item of [y, x]) {
            await app.query(`INSERT INTO order_items (order_id, inventory_id, name, quantity, price) VALUES ($1, $2, 'y', 1, 0)`, [
              rows[0]?.id,
              item,
            ]);
          }
          await app.query('COMMIT');
        } finally {
          await app.query('ROLLBACK').catch(() => undefined);
          app.release();
        }
      });
      expect([await stockOf(x), await stockOf(y)]).toEqual([99, 99]);
    });

    it('a second reservation of the same order takes nothing', async () => {
      const id = await newItem(3);
      const orderId = await orderFor([{ inventoryId: id, quantity: 2 }]);
      const [first] = await race([orderId]);
      const [second] = await race([orderId]);
      expect([first?.status, second?.status]).toEqual(['reserved', 'already-reserved']);
      expect(await stockOf(id)).toBe(1);
    });
  });
});
