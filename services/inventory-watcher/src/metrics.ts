import { Counter, type Registry } from 'prom-client';
import type { ReconcileResult, Source } from './reconcile';

const SOURCES: readonly Source[] = ['change', 'snapshot', 'daily_check'];

/** The watcher's business metrics, every labelled series present (at 0) from the start. */
export function watcherMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    created: new Counter({
      name: 'inventory_reorder_tasks_created_total',
      help: 'Reorder tasks opened (each with its notification), by what found the item low: a change, a snapshot row or the daily check',
      labelNames: ['source'],
      registers,
    }),
    escalated: new Counter({
      name: 'inventory_reorder_tasks_escalated_total',
      help: 'Open reorder tasks made urgent because the stock dropped to zero',
      registers,
    }),
    closed: new Counter({
      name: 'inventory_reorder_tasks_closed_total',
      help: 'Open reorder tasks done because the item was restocked to its threshold or above',
      registers,
    }),
    cancelled: new Counter({
      name: 'inventory_reorder_tasks_cancelled_total',
      help: 'Open reorder tasks cancelled because their item was deleted',
      registers,
    }),
    dailyCheckRuns: new Counter({
      name: 'inventory_daily_check_runs_total',
      help: 'Runs of the daily check (scheduled or manual) by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    dailyCheckFound: new Counter({
      name: 'inventory_daily_check_items_found_total',
      help: 'Items the daily check found low without an open reorder task (a crossing the watcher did not see)',
      registers,
    }),
  };
  for (const source of SOURCES) metrics.created.inc({ source }, 0);
  for (const outcome of ['succeeded', 'failed']) metrics.dailyCheckRuns.inc({ outcome }, 0);
  return metrics;
}

export type WatcherMetrics = ReturnType<typeof watcherMetrics>;

/** Counts what a committed request did. */
export function countResult(metrics: WatcherMetrics, source: Source, result: ReconcileResult): void {
  if (result.action === 'created') metrics.created.inc({ source });
  else if (result.action === 'escalated') metrics.escalated.inc();
  else if (result.action === 'closed') metrics.closed.inc();
  else if (result.action === 'cancelled') metrics.cancelled.inc();
}
