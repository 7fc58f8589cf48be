import type { Queryable } from '@pipeline/db';
import type { ShortItem } from './stock';

/**
 * The order's own rows the processor writes: holds, invoice numbers, the confirmation. Each runs
 * inside the caller's transaction.
 */

export const SALES_ROLE = 'sales';

/** Puts a pending order on hold for want of stock: the status, why (in `order_holds`), and a notification for sales naming the short items. */
export async function putOnHold(client: Queryable, orderId: string, short: readonly ShortItem[], eventId: string): Promise<boolean> {
  const { rowCount } = await client.query(`UPDATE orders SET status = 'on_hold' WHERE id = $1 AND status = 'pending'`, [orderId]);
  if (rowCount === 0) return false;
  const names = short.map((item) => `${item.name} (wanted ${item.wanted}, ${item.available} in stock)`).join(', ');
  await client.query('INSERT INTO order_holds (order_id, reason, short_items, event_id) VALUES ($1, $2, $3, $4)', [
    orderId,
    `not enough stock: ${names}`,
    JSON.stringify(short),
    eventId,
  ]);
  await client.query(
    `INSERT INTO notifications (type, title, message, action_url, target_role, priority)
     VALUES ('order_on_hold', $1, $2, $3, $4, 'high')`,
    [
      `Order on hold: not enough stock`,
      `Order ${orderId} is on hold: not enough stock of ${names}. Restock, then set the order back to pending.`,
      `/orders/${orderId}`,
      SALES_ROLE,
    ],
  );
  return true;
}

/**
 * The order's invoice number (`INV-<year>-<000001>`) and when it was issued, allocated once: every
 * retry and replay gets the same. A concurrent allocation for the same order loses to the first
 * and reads its number.
 */
export async function invoiceNumberOf(client: Queryable, orderId: string): Promise<{ number: string; issuedAt: Date }> {
  const read = () =>
    client.query<{ invoice_number: string; issued_at: Date }>('SELECT invoice_number, issued_at FROM invoices WHERE order_id = $1', [
      orderId,
    ]);
  let { rows } = await read();
  if (!rows[0]) {
    await client.query(
      `INSERT INTO invoices (order_id, invoice_number)
       VALUES ($1, 'INV-' || extract(year FROM now())::int || '-' || lpad(nextval('invoice_number_seq')::text, 6, '0'))
       ON CONFLICT (order_id) DO NOTHING`,
      [orderId],
    );
    ({ rows } = await read());
  }
  const row = rows[0];
  if (!row) throw new Error(`no invoice number for order ${orderId}`);
  return { number: row.invoice_number, issuedAt: row.issued_at };
}

export async function recordInvoiceStored(
  client: Queryable,
  orderId: string,
  stored: { sha256: string; sizeBytes: number },
): Promise<void> {
  await client.query(
    'UPDATE invoices SET stored_at = coalesce(stored_at, now()), sha256 = coalesce(sha256, $2), size_bytes = coalesce(size_bytes, $3) WHERE order_id = $1',
    [orderId, stored.sha256, stored.sizeBytes],
  );
}

/** Confirms the order, only while it is still pending, with its invoice's (unsigned) address; false when it no longer is. */
export async function confirmOrder(client: Queryable, orderId: string, invoiceAddress: string, sentAt: Date | null): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE orders SET status = 'confirmed', invoice_url = $2, confirmation_sent_at = $3 WHERE id = $1 AND status = 'pending'`,
    [orderId, invoiceAddress, sentAt],
  );
  return (rowCount ?? 0) > 0;
}
