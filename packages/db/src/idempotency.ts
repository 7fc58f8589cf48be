import { type Pool, type PoolClient, withTransaction } from './pool';

export type Processed<T> = { status: 'processed'; result: T } | { status: 'skipped' };

/**
 * Runs a handler's database effects once per (consumer, event): the effects and the
 * `processed_events` row commit in one transaction, so a redelivered event finds its row and is
 * skipped. The row is written first: a concurrent duplicate waits on it and then skips.
 */
export async function processOnce<T>(
  pool: Pool,
  consumer: string,
  eventId: string,
  effects: (client: PoolClient) => Promise<T>,
): Promise<Processed<T>> {
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT (consumer, event_id) DO NOTHING',
      [consumer, eventId],
    );
    if (rowCount === 0) return { status: 'skipped' } as const;
    return { status: 'processed', result: await effects(client) } as const;
  });
}
