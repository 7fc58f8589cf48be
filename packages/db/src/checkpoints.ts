import { throwIfAborted } from './deadline';
import { type Pool, type PoolClient, withTransaction } from './pool';

/** Where a projection's message came from. */
export interface CheckpointPosition {
  projection: string;
  topic: string;
  partition: number;
  offset: string;
  /**
   * The event's id. Copies on retry and redrive topics sit outside the source topic's checkpoints
   * (and a copy may be made twice), so the id is recorded too and an event seen before is skipped.
   */
  eventId?: string;
  /** The consumer group applying it: recorded, so `pipeline replay` can tell a projection's group and refuse it. */
  group?: string;
}

/**
 * Applies a projection's read-model change and stores its Kafka position in the same
 * transaction; a message at or below the stored offset is skipped, whatever offsets Kafka has
 * committed, and so is an event id already applied (given `eventId`). A handler whose deadline
 * passed (`signal` aborted) never commits.
 */
export async function applyWithCheckpoint(
  pool: Pool,
  position: CheckpointPosition,
  apply: (client: PoolClient) => Promise<void>,
  signal?: AbortSignal,
): Promise<'applied' | 'skipped'> {
  const what = `projection ${position.projection} at ${position.topic}/${position.partition}@${position.offset}`;
  throwIfAborted(signal, what);
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ offset: string }>(
      `SELECT "offset"::text AS offset FROM projection_checkpoints
        WHERE projection = $1 AND topic = $2 AND "partition" = $3 FOR UPDATE`,
      [position.projection, position.topic, position.partition],
    );
    const stored = rows[0]?.offset;
    if (stored !== undefined && BigInt(stored) >= BigInt(position.offset)) return 'skipped';
    let seen = false;
    if (position.eventId !== undefined) {
      const { rowCount } = await client.query(
        'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT (consumer, event_id) DO NOTHING',
        // Its own namespace: a service may also use processOnce under its name for other effects.
        [`projection:${position.projection}`, position.eventId],
      );
      seen = rowCount === 0;
    }
    if (!seen) await apply(client);
    await client.query(
      `INSERT INTO projection_checkpoints (projection, topic, "partition", "offset", consumer_group) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, "partition") DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now(),
         consumer_group = coalesce(EXCLUDED.consumer_group, projection_checkpoints.consumer_group)`,
      [position.projection, position.topic, position.partition, position.offset, position.group ?? null],
    );
    throwIfAborted(signal, what);
    // An event seen before still moves the checkpoint past this copy.
    return seen ? 'skipped' : 'applied';
  });
}

/** The stored offset of each partition of a topic for a projection (where a rebuild or resume starts). */
export async function readCheckpoints(pool: Pool, projection: string, topic: string): Promise<Map<number, string>> {
  const { rows } = await pool.query<{ partition: number; offset: string }>(
    `SELECT "partition", "offset"::text AS offset FROM projection_checkpoints WHERE projection = $1 AND topic = $2`,
    [projection, topic],
  );
  return new Map(rows.map((row) => [row.partition, row.offset]));
}
