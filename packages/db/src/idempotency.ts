import { throwIfAborted } from './deadline';
import { type Pool, type PoolClient, withTransaction } from './pool';

export type Processed<T> = { status: 'processed'; result: T } | { status: 'skipped' };

/**
 * Runs a handler's database effects once per (consumer, event): the effects and the
 * `processed_events` row commit in one transaction, so a redelivered event finds its row and is
 * skipped. The row is written first: a concurrent duplicate waits on it and then skips.
 * `consumer` is the consumer group, so two groups of one service each handle every event.
 *
 * When `signal` has aborted (the handler's deadline passed) by the time the effects return,
 * everything rolls back and DeadlineExceededError (retriable) is thrown: the runner has already
 * sent the event to its retry topic, and the retry must find nothing done.
 */
export async function processOnce<T>(
  pool: Pool,
  consumer: string,
  eventId: string,
  effects: (client: PoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<Processed<T>> {
  const what = `event ${eventId} in ${consumer}`;
  throwIfAborted(signal, what);
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT (consumer, event_id) DO NOTHING',
      [consumer, eventId],
    );
    if (rowCount === 0) return { status: 'skipped' } as const;
    const result = await effects(client);
    throwIfAborted(signal, what);
    return { status: 'processed', result } as const;
  });
}
