import type { EmailData } from './emails';
import { formatMoney, fromCents, lineTotal, sumCents, toCents } from './money';
import type { OrderView } from './order';

/** What an order's emails show: amounts exact, in the order's currency. */
export function emailData(order: OrderView, sellerName: string, invoice?: { number: string; url: string; expiresAt: Date }): EmailData {
  const money = (cents: bigint) => formatMoney(cents, order.currency);
  const lines = order.items.map((item) => ({ item, total: lineTotal(item.quantity, item.price) }));
  return {
    customerName: order.customer.name,
    orderNumber: order.id,
    orderDate: order.createdAt.toISOString().slice(0, 10),
    total: money(lines.length > 0 ? sumCents(lines.map((line) => line.total)) : toCents(order.total)),
    sellerName,
    items: lines.map(({ item, total }) => ({
      name: item.name,
      quantity: item.quantity,
      unitPrice: money(toCents(item.price)),
      lineTotal: money(total),
    })),
    ...(invoice
      ? { invoiceNumber: invoice.number, invoiceUrl: invoice.url, linkExpires: invoice.expiresAt.toISOString().slice(0, 10) }
      : {}),
  };
}

/** Items summing below the total may still be on their way (written in a later transaction); above it, the order is wrong. */
export function itemsAgainstTotal(order: OrderView): { kind: 'equal' } | { kind: 'short' | 'over'; items: string; total: string } {
  const items = sumCents(order.items.map((item) => lineTotal(item.quantity, item.price)));
  const total = toCents(order.total);
  if (items === total) return { kind: 'equal' };
  return { kind: items < total ? 'short' : 'over', items: fromCents(items), total: fromCents(total) };
}
