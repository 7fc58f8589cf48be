import {
  type ItemView,
  lowStockNotification,
  outOfStockNotification,
  reorderPriority,
  suggestedQuantity,
  taskDescription,
  taskMetadata,
  taskTitle,
} from './texts';

const item = (over: Partial<ItemView> = {}): ItemView => ({
  id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
  sku: 'SKU-1',
  product_name: 'Żółty kubek',
  quantity: 3,
  reorder_threshold: 10,
  supplier_id: '0b6d2a4e-1111-4c1f-9a7b-1d2e3f405162',
  supplier_name: 'Acme Ltd',
  default_order_quantity: 40,
  ...over,
});

describe('reorder task and notification texts', () => {
  it('describe the stock, the threshold, the supplier and the suggested quantity', () => {
    expect(taskTitle(item())).toBe('Reorder: Żółty kubek');
    expect(taskDescription(item())).toBe(
      'Żółty kubek (SKU SKU-1) has 3 in stock, below its reorder threshold of 10. Reorder 40 from supplier Acme Ltd.',
    );
    expect(taskMetadata(item(), { source: 'change', eventId: 'e-1' })).toEqual({
      inventory_id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
      supplier_id: '0b6d2a4e-1111-4c1f-9a7b-1d2e3f405162',
      suggested_quantity: 40,
      source: 'change',
      event_id: 'e-1',
    });
  });

  it('suggest 100 without a supplier, and say there is none', () => {
    const orphan = item({ supplier_id: null, supplier_name: null, default_order_quantity: null });
    expect(suggestedQuantity(orphan)).toBe(100);
    expect(taskDescription(orphan)).toBe(
      'Żółty kubek (SKU SKU-1) has 3 in stock, below its reorder threshold of 10. Reorder 100 from no supplier on record.',
    );
    expect(taskMetadata(orphan, { source: 'daily_check' })).toEqual({
      inventory_id: orphan.id,
      supplier_id: null,
      suggested_quantity: 100,
      source: 'daily_check',
    });
  });

  it('are urgent at zero stock and high otherwise', () => {
    expect(reorderPriority(item({ quantity: 0 }))).toBe('urgent');
    expect(reorderPriority(item({ quantity: 1 }))).toBe('high');
  });

  it('notify with the stock and a link to the task', () => {
    expect(lowStockNotification(item(), 't-1')).toEqual({
      title: 'Low Inventory Alert: Żółty kubek',
      message: 'Stock is at 3. A reorder task has been created.',
      actionUrl: '/tasks/t-1',
      priority: 'high',
    });
    expect(outOfStockNotification(item({ quantity: 0 }), 't-1')).toEqual({
      title: 'Out of Stock: Żółty kubek',
      message: 'Stock is at 0. The open reorder task is now urgent.',
      actionUrl: '/tasks/t-1',
      priority: 'urgent',
    });
  });
});
