import { type StartedConsumerService, startConsumerService } from '@pipeline/kit';
import type { Clock, ServiceContext } from '@pipeline/runtime';
import { type Config, SERVICE } from './config';
import { dailyCheckJob } from './daily-check';
import { inventoryHandler } from './handler';
import { watcherMetrics } from './metrics';

/**
 * inventory-watcher: stock falling below its reorder threshold opens a reorder task and notifies
 * the inventory managers; a drop to zero escalates it, a restock closes it, a delete cancels it.
 * The daily check (INVENTORY_DAILY_CHECK_CRON) opens what a missed crossing did not.
 */
export function start(context: ServiceContext<Config>, options: { clock?: Clock } = {}): Promise<StartedConsumerService> {
  const metrics = watcherMetrics(context.registry);
  return startConsumerService(context, {
    service: SERVICE,
    handlers: { 'public.inventory': inventoryHandler(metrics) },
    jobs: [dailyCheckJob(context.config, metrics)],
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
