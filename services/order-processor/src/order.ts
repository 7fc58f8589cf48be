import type { Queryable } from '@pipeline/db';

/** An order as the processor reads it: the order, its items and its customer, from the database. */
export interface OrderView {
  id: string;
  status: string;
  /** numeric(12, 2) as exact text. */
  total: string;
  currency: string;
  createdAt: Date;
  invoiceUrl: string | null;
  customer: { id: string; name: string; email: string; locale: string };
  items: OrderItemView[];
}

export interface OrderItemView {
  id: string;
  inventoryId: string | null;
  name: string;
  quantity: number;
  /** Unit price, numeric(12, 2) as exact text. */
  price: string;
}

/** The order with its items (in a stable order) and customer; undefined when it no longer exists. `forUpdate` locks the order row. */
export async function loadOrder(client: Queryable, orderId: string, forUpdate = false): Promise<OrderView | undefined> {
  const { rows } = await client.query<{
    id: string;
    status: string;
    total: string;
    currency: string;
    created_at: Date;
    invoice_url: string | null;
    customer_id: string;
    customer_name: string;
    customer_email: string;
    customer_locale: string;
  }>(
    `SELECT o.id, o.status, o.total::text AS total, o.currency, o.created_at, o.invoice_url,
            c.id AS customer_id, c.name AS customer_name, c.email AS customer_email, c.locale AS customer_locale
       FROM orders o JOIN customers c ON c.id = o.customer_id
      WHERE o.id = $1${forUpdate ? ' FOR NO KEY UPDATE OF o' : ''}`,
    [orderId],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { rows: items } = await client.query<{ id: string; inventory_id: string | null; name: string; quantity: number; price: string }>(
    'SELECT id, inventory_id, name, quantity, price::text AS price FROM order_items WHERE order_id = $1 ORDER BY name, id',
    [orderId],
  );
  return {
    id: row.id,
    status: row.status,
    total: row.total,
    currency: row.currency.trim(),
    createdAt: row.created_at,
    invoiceUrl: row.invoice_url,
    customer: { id: row.customer_id, name: row.customer_name, email: row.customer_email, locale: row.customer_locale },
    items: items.map((item) => ({
      id: item.id,
      inventoryId: item.inventory_id,
      name: item.name,
      quantity: item.quantity,
      price: item.price,
    })),
  };
}
