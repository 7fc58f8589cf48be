import type { StockLevel } from './crossing';

/** The item as a reorder task describes it: its current row and its supplier, if any. */
export interface ItemView extends StockLevel {
  id: string;
  sku: string;
  product_name: string;
  supplier_id: string | null;
  supplier_name: string | null;
  default_order_quantity: number | null;
}

export const REORDER_TASK_TYPE = 'inventory_reorder';
export const LOW_INVENTORY_NOTIFICATION = 'low_inventory';
export const INVENTORY_MANAGER_ROLE = 'inventory_manager';
/** Suggested when the item has no supplier to take a default order quantity from. */
export const FALLBACK_ORDER_QUANTITY = 100;

export type Priority = 'high' | 'urgent';

export const suggestedQuantity = (item: ItemView): number => item.default_order_quantity ?? FALLBACK_ORDER_QUANTITY;

/** `urgent` at zero stock, `high` otherwise. */
export const reorderPriority = (item: StockLevel): Priority => (item.quantity === 0 ? 'urgent' : 'high');

export const taskTitle = (item: ItemView): string => `Reorder: ${item.product_name}`;

export function taskDescription(item: ItemView): string {
  const supplier = item.supplier_name === null ? 'no supplier on record' : `supplier ${item.supplier_name}`;
  return (
    `${item.product_name} (SKU ${item.sku}) has ${item.quantity} in stock, below its reorder threshold of ` +
    `${item.reorder_threshold}. Reorder ${suggestedQuantity(item)} from ${supplier}.`
  );
}

export function taskMetadata(item: ItemView, origin: { source: string; eventId?: string }): Record<string, unknown> {
  return {
    inventory_id: item.id,
    supplier_id: item.supplier_id,
    suggested_quantity: suggestedQuantity(item),
    source: origin.source,
    ...(origin.eventId ? { event_id: origin.eventId } : {}),
  };
}

export interface NotificationText {
  title: string;
  message: string;
  actionUrl: string;
  priority: Priority;
}

export const lowStockNotification = (item: ItemView, taskId: string): NotificationText => ({
  title: `Low Inventory Alert: ${item.product_name}`,
  message: `Stock is at ${item.quantity}. A reorder task has been created.`,
  actionUrl: `/tasks/${taskId}`,
  priority: reorderPriority(item),
});

export const outOfStockNotification = (item: ItemView, taskId: string): NotificationText => ({
  title: `Out of Stock: ${item.product_name}`,
  message: 'Stock is at 0. The open reorder task is now urgent.',
  actionUrl: `/tasks/${taskId}`,
  priority: 'urgent',
});
