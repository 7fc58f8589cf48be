import type { Pool } from './pool';

/**
 * The pipeline's own bookkeeping that only grows: what to prune and what to count. Outcomes and
 * job runs are history (pruned by age, per service); `processed_events` and the effects ledger
 * guard replays and are kept, so they are counted instead.
 */

export interface Pruned {
  outcomes: number;
  jobRuns: number;
  jobClaims: number;
}

/**
 * Deletes a service's `event_outcomes`, finished `job_runs` and closed `job_claims` older than
 * `before`, in batches of `batchRows` so no statement holds locks for long.
 */
export async function pruneBookkeeping(db: Pool, service: string, before: Date, batchRows = 10_000): Promise<Pruned> {
  const repeat = async (sql: string): Promise<number> => {
    let total = 0;
    for (;;) {
      const { rowCount } = await db.query(sql, [service, before, batchRows]);
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batchRows) return total;
    }
  };
  return {
    outcomes: await repeat(
      `DELETE FROM event_outcomes WHERE id IN
         (SELECT id FROM event_outcomes WHERE service = $1 AND recorded_at < $2 LIMIT $3)`,
    ),
    jobRuns: await repeat(
      `DELETE FROM job_runs WHERE id IN
         (SELECT id FROM job_runs WHERE service = $1 AND started_at < $2 AND outcome <> 'running' LIMIT $3)`,
    ),
    jobClaims: await repeat(
      `DELETE FROM job_claims WHERE (service, job, scheduled_for) IN
         (SELECT service, job, scheduled_for FROM job_claims WHERE service = $1 AND scheduled_for < $2 AND status <> 'claimed' LIMIT $3)`,
    ),
  };
}

/** Rows of `processed_events` a consumer group holds (its idempotency keys). */
export async function processedEventsRows(db: Pool, group: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM processed_events WHERE consumer = $1', [group]);
  return Number(rows[0]?.n ?? 0);
}

/** Entries of the effects ledger by status. */
export async function ledgerRowsByStatus(db: Pool): Promise<Record<'claimed' | 'recorded' | 'abandoned', number>> {
  const { rows } = await db.query<{ status: 'claimed' | 'recorded' | 'abandoned'; n: string }>(
    'SELECT status, count(*)::text AS n FROM effects_ledger GROUP BY status',
  );
  const counts = { claimed: 0, recorded: 0, abandoned: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}
