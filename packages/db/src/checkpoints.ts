import { throwIfAborted } from './deadline';
import { type Pool, type PoolClient, type Queryable, withTransaction } from './pool';

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
    await lockProjectionShared(client, position.projection);
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
        [await processedNamespace(client, position.projection), position.eventId],
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

/** A batch of one topic partition for `applyBatchWithCheckpoint`: its messages' offsets and event ids, in order. */
export interface CheckpointMessage {
  offset: string;
  eventId?: string;
}

export interface CheckpointBatch {
  projection: string;
  topic: string;
  partition: number;
  group?: string;
  /** One source partition's messages, in offset order. */
  messages: readonly CheckpointMessage[];
}

/**
 * A projection's read-model change for a whole batch and its Kafka position in one transaction:
 * messages at or below the stored position, and events applied before (a copy elsewhere), are
 * left out; `apply` gets the indexes of the others, in order; the checkpoint moves to the batch's
 * last offset. Returns, per message, whether it was applied or skipped. Past the deadline nothing commits.
 */
export async function applyBatchWithCheckpoint(
  pool: Pool,
  batch: CheckpointBatch,
  apply: (client: PoolClient, fresh: readonly number[]) => Promise<void>,
  signal?: AbortSignal,
): Promise<('applied' | 'skipped')[]> {
  const last = batch.messages.at(-1);
  if (!last) return [];
  const what = `projection ${batch.projection} at ${batch.topic}/${batch.partition}@${batch.messages[0]?.offset}..${last.offset}`;
  throwIfAborted(signal, what);
  return withTransaction(pool, async (client) => {
    await lockProjectionShared(client, batch.projection);
    const results = await applyBatchInTransaction(client, batch, apply);
    throwIfAborted(signal, what);
    return results;
  });
}

/**
 * `applyBatchWithCheckpoint`'s work inside a transaction the caller holds (a rebuild's swap,
 * which applies its last batches under the projection's exclusive lock).
 */
export async function applyBatchInTransaction(
  client: PoolClient,
  batch: CheckpointBatch,
  apply: (client: PoolClient, fresh: readonly number[]) => Promise<void>,
): Promise<('applied' | 'skipped')[]> {
  const last = batch.messages.at(-1);
  if (!last) return [];
  const { rows } = await client.query<{ offset: string }>(
    `SELECT "offset"::text AS offset FROM projection_checkpoints
      WHERE projection = $1 AND topic = $2 AND "partition" = $3 FOR UPDATE`,
    [batch.projection, batch.topic, batch.partition],
  );
  const stored = rows[0]?.offset === undefined ? -1n : BigInt(rows[0].offset);
  // Offsets ascend within a batch: those above the checkpoint are a tail of it.
  let first = 0;
  while (first < batch.messages.length && BigInt((batch.messages[first] as CheckpointMessage).offset) <= stored) first++;
  const ids: string[] = [];
  for (let index = first; index < batch.messages.length; index++) {
    const eventId = (batch.messages[index] as CheckpointMessage).eventId;
    if (eventId !== undefined) ids.push(eventId);
  }
  // Only the ids seen before come back (usually none): a batch's worth of rows is not parsed for nothing.
  const { rows: seen } = await client.query<{ event_id: string }>(
    `WITH inserted AS (
       INSERT INTO processed_events (consumer, event_id) SELECT $1, unnest($2::text[])
       ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id)
     SELECT DISTINCT id AS event_id FROM unnest($2::text[]) AS id WHERE id NOT IN (SELECT event_id FROM inserted)`,
    [await processedNamespace(client, batch.projection), ids],
  );
  const seenBefore = new Set(seen.map((row) => row.event_id));
  // A message without an event id is applied by position alone; one whose id was seen before (or
  // earlier in this batch: the reader may write a change twice) is not.
  const fresh: number[] = [];
  for (let index = first; index < batch.messages.length; index++) {
    const eventId = (batch.messages[index] as CheckpointMessage).eventId;
    if (eventId === undefined) fresh.push(index);
    else if (!seenBefore.has(eventId)) {
      fresh.push(index);
      seenBefore.add(eventId);
    }
  }
  if (fresh.length > 0) await apply(client, fresh);
  await client.query(
    `INSERT INTO projection_checkpoints (projection, topic, "partition", "offset", consumer_group) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (projection, topic, "partition") DO UPDATE SET "offset" = GREATEST(projection_checkpoints."offset", EXCLUDED."offset"),
       updated_at = now(), consumer_group = coalesce(EXCLUDED.consumer_group, projection_checkpoints.consumer_group)`,
    [batch.projection, batch.topic, batch.partition, last.offset, batch.group ?? null],
  );
  const results: ('applied' | 'skipped')[] = batch.messages.map(() => 'skipped');
  for (const index of fresh) results[index] = 'applied';
  return results;
}

/**
 * Where `projection` records the ids of the events it applied in `processed_events`: its own
 * namespace (a service may also use processOnce under its name), `projection:<name>` unless a
 * rebuild's swap pointed it elsewhere (`projection_namespaces`). Read after the projection's shared
 * lock, so a swap never changes it under a transaction.
 */
export async function processedNamespace(client: Queryable, projection: string): Promise<string> {
  const { rows } = await client.query<{ namespace: string }>('SELECT namespace FROM projection_namespaces WHERE projection = $1', [
    projection,
  ]);
  return rows[0]?.namespace ?? `projection:${projection}`;
}

/** The advisory lock key of a projection: every apply holds it shared, a rebuild's swap exclusively. */
const projectionLockKey = (projection: string) => `projection:${projection}`;

/** Held shared by every apply transaction of `projection` until it ends. */
export async function lockProjectionShared(client: PoolClient, projection: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 17))', [projectionLockKey(projection)]);
}

/** Held exclusively by a rebuild's swap: waits for the applies in progress, holds off the next ones until it ends. */
export async function lockProjectionExclusive(client: PoolClient, projection: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 17))', [projectionLockKey(projection)]);
}

/** The stored offset of each partition of a topic for a projection (where a rebuild or resume starts). */
export async function readCheckpoints(pool: Pool, projection: string, topic: string): Promise<Map<number, string>> {
  const { rows } = await pool.query<{ partition: number; offset: string }>(
    `SELECT "partition", "offset"::text AS offset FROM projection_checkpoints WHERE projection = $1 AND topic = $2`,
    [projection, topic],
  );
  return new Map(rows.map((row) => [row.partition, row.offset]));
}
