import { withTransaction } from '@pipeline/db';
import type { JobSpec } from '@pipeline/kit';
import type { Config } from './config';
import { countResult, type WatcherMetrics } from './metrics';
import { reconcileItem } from './reconcile';
import { dailyCheckCandidates } from './store';

export const DAILY_CHECK_JOB = 'daily-check';

/** What a run of the daily check did: recorded in job_runs and printed by `pipeline inventory check`. */
export interface DailyCheckReport {
  /** Items in the inventory table when the check ran. */
  checked: number;
  /** Items below their threshold without an open reorder task. */
  lowWithoutTask: number;
  created: { taskId: string; inventoryId: string; productName: string; quantity: number; threshold: number }[];
  /** Open tasks of items no longer low (done) or gone (cancelled): restocks and deletes the watcher did not see. */
  closed: number;
  cancelled: number;
}

/**
 * The daily check, on the kit's scheduler (once per occurrence across replicas): every item below
 * its threshold without an open task gets one, with its notification, as a crossing would have
 * made; an open task of an item no longer low is closed. Each item in a transaction of its own,
 * under the same lock as the change handler, so the two never open two tasks.
 */
export function dailyCheckJob(config: Config, metrics: WatcherMetrics): JobSpec {
  return {
    name: DAILY_CHECK_JOB,
    cron: config.INVENTORY_DAILY_CHECK_CRON,
    timeZone: config.INVENTORY_DAILY_CHECK_TZ,
    run: async ({ pool, signal, logger }) => {
      try {
        const report = await check(pool, signal, metrics);
        metrics.dailyCheckRuns.inc({ outcome: 'succeeded' });
        metrics.dailyCheckFound.inc(report.lowWithoutTask);
        logger.info(
          { ...report, created: report.created.length },
          `daily check: ${report.checked} items checked, ${report.created.length} reorder tasks created`,
        );
        return { items: report.checked, details: { ...report } };
      } catch (error) {
        metrics.dailyCheckRuns.inc({ outcome: 'failed' });
        throw error;
      }
    },
  };
}

async function check(pool: Parameters<typeof withTransaction>[0], signal: AbortSignal, metrics: WatcherMetrics): Promise<DailyCheckReport> {
  const candidates = await dailyCheckCandidates(pool);
  const report: DailyCheckReport = {
    checked: candidates.checked,
    lowWithoutTask: candidates.low.length,
    created: [],
    closed: 0,
    cancelled: 0,
  };
  for (const inventoryId of [...candidates.low, ...candidates.stale]) {
    signal.throwIfAborted();
    const result = await withTransaction(pool, (client) =>
      reconcileItem(client, { inventoryId, intent: 'evaluate', source: 'daily_check' }),
    );
    countResult(metrics, 'daily_check', result);
    if (result.action === 'created') {
      report.created.push({
        taskId: result.taskId,
        inventoryId,
        productName: result.item.product_name,
        quantity: result.item.quantity,
        threshold: result.item.reorder_threshold,
      });
    } else if (result.action === 'closed') report.closed += 1;
    else if (result.action === 'cancelled') report.cancelled += 1;
  }
  return report;
}
