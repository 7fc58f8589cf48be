import { ledgerRowsByStatus, type Pool, processedEventsRows, pruneBookkeeping } from '@pipeline/db';
import { type Logger, scrapeCache } from '@pipeline/runtime';
import { Gauge, type Registry } from 'prom-client';
import type { JobSpec } from './jobs';

/** The job every consumer service runs to keep its bookkeeping from growing forever. */
export const BOOKKEEPING_JOB = 'prune-bookkeeping';

export interface BookkeepingSettings {
  BOOKKEEPING_RETENTION_DAYS: number;
  BOOKKEEPING_PRUNE_CRON: string;
  BOOKKEEPING_PRUNE_TZ: string;
}

/**
 * Deletes the service's `event_outcomes`, finished `job_runs` and closed `job_claims` older than
 * BOOKKEEPING_RETENTION_DAYS before the run's occurrence. `processed_events` and the effects ledger
 * are never pruned: they are what keeps a replay from doing things twice.
 */
export function bookkeepingJob(settings: BookkeepingSettings): JobSpec {
  return {
    name: BOOKKEEPING_JOB,
    cron: settings.BOOKKEEPING_PRUNE_CRON,
    timeZone: settings.BOOKKEEPING_PRUNE_TZ,
    run: async ({ pool, service, scheduledFor }) => {
      const before = new Date(scheduledFor.getTime() - settings.BOOKKEEPING_RETENTION_DAYS * 86_400_000);
      const pruned = await pruneBookkeeping(pool, service, before);
      return { items: pruned.outcomes + pruned.jobRuns + pruned.jobClaims, details: { ...pruned, before: before.toISOString() } };
    },
  };
}

/**
 * Row counts of what is kept, as gauges: `consumer_processed_events_rows{group}` and
 * `effects_ledger_rows{status}`. Counted on scrape, at most once per `refreshMs` (a count over a
 * large table is not free); a database that does not answer leaves the last counts.
 */
export function bookkeepingMetrics(registry: Registry, pool: Pool, group: string, logger: Logger, refreshMs = 60_000): void {
  const counts = scrapeCache(
    async () => {
      const [processed, ledger] = await Promise.all([processedEventsRows(pool, group), ledgerRowsByStatus(pool)]);
      return { processed, ledger };
    },
    refreshMs,
    (error) => logger.debug({ err: error }, 'could not count the bookkeeping rows for /metrics'),
  );
  new Gauge({
    name: 'consumer_processed_events_rows',
    help: 'Idempotency keys the consumer group holds in processed_events (kept: they guard replays)',
    labelNames: ['group'],
    registers: [registry],
    async collect() {
      const counted = await counts();
      if (counted) this.set({ group }, counted.processed);
    },
  });
  new Gauge({
    name: 'effects_ledger_rows',
    help: 'Entries of the effects ledger by status (claimed: unrecorded, may need a person)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counted = await counts();
      if (counted) for (const [status, rows] of Object.entries(counted.ledger)) this.set({ status }, rows);
    },
  });
}
