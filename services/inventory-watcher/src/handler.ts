import type { ChangeHandler } from '@pipeline/kit';
import type { InventoryRow } from '@pipeline/schemas';
import type { Config } from './config';
import { intentOf } from './intent';
import { countResult, type WatcherMetrics } from './metrics';
import { type ReconcileResult, reconcileItem } from './reconcile';
import { orphanedTaskItems } from './store';

/**
 * The handler of `public.inventory`: what the change asks is done once per event (with the
 * processed-event row, in one transaction) and judged against the item's current row. A change
 * that stays healthy writes nothing at all.
 */
export function inventoryHandler(metrics: WatcherMetrics): ChangeHandler<InventoryRow, Config> {
  return async (change, ctx) => {
    const intent = intentOf(change);
    if (intent.kind === 'nothing') return 'processed';
    const source = intent.kind === 'item' ? intent.request.source : 'change';
    const processed = await ctx.processOnce(async (client): Promise<ReconcileResult[]> => {
      if (intent.kind === 'item') return [await reconcileItem(client, intent.request)];
      // A truncate (one record per partition): every open task whose item is gone is cancelled.
      const results: ReconcileResult[] = [];
      for (const inventoryId of await orphanedTaskItems(client)) {
        results.push(await reconcileItem(client, { inventoryId, intent: 'cancel', source, eventId: change.eventId }));
      }
      return results;
    });
    if (processed.status === 'skipped') return 'skipped';
    for (const result of processed.result) {
      countResult(metrics, source, result);
      if (result.action === 'none') ctx.logger.debug({ why: result.why }, 'nothing to do for the reorder task');
      else ctx.logger.info({ action: result.action, taskId: result.taskId }, `reorder task ${result.action}`);
    }
    return 'processed';
  };
}
