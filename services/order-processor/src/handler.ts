import type { ChangeHandler } from '@pipeline/kit';
import { isUnavailable, type OrdersRow } from '@pipeline/schemas';
import type { Config } from './config';
import type { OrderProcessor } from './processor';

/**
 * The handler of `public.orders`: an insert is a new order; an update from `on_hold` back to
 * `pending` is one too; a change of status to `shipped` or `cancelled` is told to the customer.
 * Snapshot rows are orders from before the pipeline was switched on: never emailed. An update
 * whose status is unavailable (a placeholder, see isUnavailable) is judged by the order's current
 * row instead: the same steps, each done once, whatever the change was.
 */
export function ordersHandler(processor: OrderProcessor): ChangeHandler<OrdersRow, Config> {
  return async (change, ctx) => {
    switch (change.op) {
      case 'c':
        return processor.newOrder(change.after.id, ctx);
      case 'u': {
        if (isUnavailable(change, 'before', 'status') || isUnavailable(change, 'after', 'status')) {
          return processor.byCurrentStatus(change.after.id, ctx);
        }
        const before = change.before?.status;
        const after = change.after.status;
        if (before === undefined || before === after) return 'skipped';
        if (before === 'on_hold' && after === 'pending') return processor.newOrder(change.after.id, ctx);
        if (after === 'shipped' || after === 'cancelled') return processor.statusChanged(change.after.id, after, ctx);
        return 'skipped';
      }
      default:
        return 'skipped';
    }
  };
}
