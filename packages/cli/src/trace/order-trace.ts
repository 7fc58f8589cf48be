import type { Pool } from '@pipeline/db';
import type { Kafka } from 'kafkajs';
import { type EventTrail, rowTrails } from './event-trail';

/** One order's journey, from where it is recorded: its changes, each service's work, and what that work left behind. */
export interface OrderTrace {
  order: { id: string; status: string; total: string; currency: string; customer: string; createdAt: string };
  /** The commit of the order's insert: every step's time is measured from it. */
  committedAt: string | null;
  events: EventTrail[];
  stock: {
    item: string;
    inventoryId: string;
    quantity: number;
    reservedAt: string;
    releasedAt: string | null;
    afterCommitMs: number | null;
  }[];
  holds: { reason: string; createdAt: string; afterCommitMs: number | null }[];
  invoice: { number: string; issuedAt: string; storedAt: string | null; sizeBytes: number | null; afterCommitMs: number | null } | null;
  email: { status: string; sesMessageId: string | null; attempts: number; recordedAt: string | null; afterCommitMs: number | null } | null;
  /** Reorder tasks opened by the stock changes this order's reservation made. */
  reorderTasks: { id: string; title: string; status: string; createdAt: string; eventId: string; afterCommitMs: number | null }[];
}

export async function traceOrder(pool: Pool, kafka: Kafka, orderId: string): Promise<OrderTrace | undefined> {
  const { rows: orders } = await pool.query<{
    id: string;
    status: string;
    total: string;
    currency: string;
    email: string;
    created_at: Date;
  }>(
    `SELECT o.id, o.status, o.total::text AS total, o.currency, c.email, o.created_at
       FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1`,
    [orderId],
  );
  const order = orders[0];
  if (!order) return undefined;
  const events = await rowTrails(pool, kafka, 'public.orders', orderId);
  const committed = events[0]?.committedAt ? new Date(events[0].committedAt) : null;
  const after = (at: Date | null) => (at && committed ? at.getTime() - committed.getTime() : null);

  const { rows: stock } = await pool.query<{
    name: string;
    inventory_id: string;
    quantity: number;
    reserved_at: Date;
    released_at: Date | null;
  }>(
    `SELECT i.name, r.inventory_id, r.quantity, r.reserved_at, r.released_at
       FROM stock_reservations r JOIN order_items i ON i.id = r.order_item_id WHERE r.order_id = $1 ORDER BY i.name`,
    [orderId],
  );
  const { rows: holds } = await pool.query<{ reason: string; created_at: Date }>(
    'SELECT reason, created_at FROM order_holds WHERE order_id = $1 ORDER BY created_at',
    [orderId],
  );
  const { rows: invoices } = await pool.query<{
    invoice_number: string;
    issued_at: Date;
    stored_at: Date | null;
    size_bytes: number | null;
  }>('SELECT invoice_number, issued_at, stored_at, size_bytes FROM invoices WHERE order_id = $1', [orderId]);
  const { rows: emails } = await pool.query<{ status: string; provider_ref: string | null; attempts: number; recorded_at: Date | null }>(
    `SELECT status, provider_ref, attempts, recorded_at FROM effects_ledger WHERE effect_key = $1 AND effect = 'email:confirmation'`,
    [`order:${orderId}`],
  );
  // The reservation's stock change of each item is the first change of that item committed at or
  // after the reservation; the watcher records the event that opened a task in its metadata.
  const { rows: tasks } = await pool.query<{ id: string; title: string; status: string; created_at: Date; event_id: string }>(
    `SELECT t.id, t.title, t.status, t.created_at, t.metadata->>'event_id' AS event_id
       FROM stock_reservations r
       CROSS JOIN LATERAL (
         SELECT event_id FROM event_outcomes
          WHERE subject = 'public.inventory' AND row_key = r.inventory_id::text AND committed_at >= date_trunc('milliseconds', r.reserved_at)
          ORDER BY committed_at LIMIT 1) AS change
       JOIN tasks t ON t.type = 'inventory_reorder' AND t.metadata->>'event_id' = change.event_id
      WHERE r.order_id = $1
      ORDER BY t.created_at`,
    [orderId],
  );
  const invoice = invoices[0];
  const email = emails[0];
  return {
    order: {
      id: order.id,
      status: order.status,
      total: order.total,
      currency: order.currency,
      customer: order.email,
      createdAt: order.created_at.toISOString(),
    },
    committedAt: committed?.toISOString() ?? null,
    events,
    stock: stock.map((s) => ({
      item: s.name,
      inventoryId: s.inventory_id,
      quantity: s.quantity,
      reservedAt: s.reserved_at.toISOString(),
      releasedAt: s.released_at?.toISOString() ?? null,
      afterCommitMs: after(s.reserved_at),
    })),
    holds: holds.map((h) => ({ reason: h.reason, createdAt: h.created_at.toISOString(), afterCommitMs: after(h.created_at) })),
    invoice: invoice
      ? {
          number: invoice.invoice_number,
          issuedAt: invoice.issued_at.toISOString(),
          storedAt: invoice.stored_at?.toISOString() ?? null,
          sizeBytes: invoice.size_bytes,
          afterCommitMs: after(invoice.stored_at ?? invoice.issued_at),
        }
      : null,
    email: email
      ? {
          status: email.status,
          sesMessageId: email.provider_ref,
          attempts: email.attempts,
          recordedAt: email.recorded_at?.toISOString() ?? null,
          afterCommitMs: after(email.recorded_at),
        }
      : null,
    reorderTasks: tasks.map((t) => ({
      id: t.id,
      title: t.title,
      status: t.status,
      createdAt: t.created_at.toISOString(),
      eventId: t.event_id,
      afterCommitMs: after(t.created_at),
    })),
  };
}
