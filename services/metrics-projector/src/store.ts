import type { Queryable } from '@pipeline/db';
import type { EventPosition } from '@pipeline/schemas';
import { type Bucket, money, ownerKey, type ProjectedState } from './state';

/** The projection's SQL, each inside the caller's (applyWithCheckpoint's) transaction. */

export interface Stored {
  state: ProjectedState | undefined;
  deleted: boolean;
  position: EventPosition;
  partition: number;
}

interface StoredRow {
  opportunity_id: string;
  stage: string | null;
  value: string | null;
  owner: string | null;
  closed_month: string | null;
  position_lsn: string;
  position_ord: number;
  source_partition: number;
  deleted: boolean;
}

const STORED_COLUMNS = `opportunity_id, stage, value::text AS value, owner, to_char(closed_month, 'YYYY-MM-DD') AS closed_month,
  position_lsn::text AS position_lsn, position_ord, source_partition, deleted`;

function toStored(row: StoredRow): Stored {
  return {
    state:
      row.deleted || row.stage === null || row.value === null
        ? undefined
        : { stage: row.stage, value: row.value, owner: row.owner, closedMonth: row.closed_month },
    deleted: row.deleted,
    position: { lsn: BigInt(row.position_lsn), ordinal: row.position_ord },
    partition: row.source_partition,
  };
}

/** The opportunity as last applied, locked for this transaction; undefined when never seen. */
export async function readStored(client: Queryable, id: string): Promise<Stored | undefined> {
  const { rows } = await client.query<StoredRow>(
    `SELECT ${STORED_COLUMNS} FROM opportunity_projection WHERE opportunity_id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/** Several opportunities as last applied, locked in id order (so two batches cannot deadlock). */
export async function readStoredMany(client: Queryable, ids: readonly string[]): Promise<Map<string, Stored>> {
  const { rows } = await client.query<StoredRow>(
    `SELECT ${STORED_COLUMNS} FROM opportunity_projection WHERE opportunity_id = ANY($1::uuid[]) ORDER BY opportunity_id FOR UPDATE`,
    [ids],
  );
  return new Map(rows.map((row) => [row.opportunity_id, toStored(row)]));
}

/** Several opportunities' states (undefined: a tombstone) in one statement. */
export async function writeStoredMany(
  client: Queryable,
  entries: readonly { id: string; state: ProjectedState | undefined; position: EventPosition; partition: number }[],
): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO opportunity_projection (opportunity_id, stage, value, owner, closed_month, position_lsn, position_ord, source_partition, deleted)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::numeric[], $4::text[], $5::date[], $6::bigint[], $7::int[], $8::int[], $9::boolean[])
     ON CONFLICT (opportunity_id) DO UPDATE SET stage = EXCLUDED.stage, value = EXCLUDED.value, owner = EXCLUDED.owner,
       closed_month = EXCLUDED.closed_month, position_lsn = EXCLUDED.position_lsn, position_ord = EXCLUDED.position_ord,
       source_partition = EXCLUDED.source_partition, deleted = EXCLUDED.deleted, updated_at = now()`,
    [
      entries.map((e) => e.id),
      entries.map((e) => e.state?.stage ?? null),
      entries.map((e) => e.state?.value ?? null),
      entries.map((e) => e.state?.owner ?? null),
      entries.map((e) => e.state?.closedMonth ?? null),
      entries.map((e) => e.position.lsn.toString()),
      entries.map((e) => e.position.ordinal),
      entries.map((e) => e.partition),
      entries.map((e) => e.state === undefined),
    ],
  );
}

/** Several transition rows in one statement; copies of events already recorded add nothing. */
export async function insertTransitions(client: Queryable, transitions: readonly Transition[]): Promise<void> {
  if (transitions.length === 0) return;
  await client.query(
    `INSERT INTO stage_transitions (opportunity_id, from_stage, to_stage, value, owner, transitioned_at, event_id)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::timestamptz[], $7::text[])
     ON CONFLICT (event_id) DO NOTHING`,
    [
      transitions.map((t) => t.opportunityId),
      transitions.map((t) => t.from),
      transitions.map((t) => t.to),
      transitions.map((t) => t.value),
      transitions.map((t) => t.owner),
      transitions.map((t) => t.at),
      transitions.map((t) => t.eventId),
    ],
  );
}

/** Stores the opportunity's state (or its tombstone, for undefined) at `position`. */
export async function writeStored(
  client: Queryable,
  id: string,
  state: ProjectedState | undefined,
  position: EventPosition,
  partition: number,
): Promise<void> {
  await client.query(
    `INSERT INTO opportunity_projection (opportunity_id, stage, value, owner, closed_month, position_lsn, position_ord, source_partition, deleted)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (opportunity_id) DO UPDATE SET stage = EXCLUDED.stage, value = EXCLUDED.value, owner = EXCLUDED.owner,
       closed_month = EXCLUDED.closed_month, position_lsn = EXCLUDED.position_lsn, position_ord = EXCLUDED.position_ord,
       source_partition = EXCLUDED.source_partition, deleted = EXCLUDED.deleted, updated_at = now()`,
    [
      id,
      state?.stage ?? null,
      state?.value ?? null,
      state?.owner ?? null,
      state?.closedMonth ?? null,
      position.lsn.toString(),
      position.ordinal,
      partition,
      state === undefined,
    ],
  );
}

/**
 * Moves the read-model tables by `buckets`; a bucket that reaches zero is removed. Buckets are
 * locked in one global order (table, then key), so two partitions' transactions moving the same
 * buckets wait for each other instead of deadlocking.
 */
export async function applyBuckets(client: Queryable, buckets: readonly Bucket[]): Promise<void> {
  for (const bucket of [...buckets].sort((a, b) => lockOrder(a).localeCompare(lockOrder(b)))) {
    if (bucket.table === 'stage') {
      await client.query(
        `INSERT INTO pipeline_stage_values (stage, opportunity_count, total_value) VALUES ($1, $2, $3)
         ON CONFLICT (stage) DO UPDATE SET opportunity_count = pipeline_stage_values.opportunity_count + EXCLUDED.opportunity_count,
           total_value = pipeline_stage_values.total_value + EXCLUDED.total_value, updated_at = now()`,
        [bucket.stage, bucket.count, money(bucket.value)],
      );
      await client.query('DELETE FROM pipeline_stage_values WHERE stage = $1 AND opportunity_count = 0 AND total_value = 0', [
        bucket.stage,
      ]);
    } else if (bucket.table === 'owner') {
      await client.query(
        `INSERT INTO sales_metrics (owner_key, owner, deals_won, deals_lost, revenue_closed) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (owner_key) DO UPDATE SET deals_won = sales_metrics.deals_won + EXCLUDED.deals_won,
           deals_lost = sales_metrics.deals_lost + EXCLUDED.deals_lost, revenue_closed = sales_metrics.revenue_closed + EXCLUDED.revenue_closed,
           updated_at = now()`,
        [ownerKey(bucket.owner), bucket.owner, bucket.won, bucket.lost, money(bucket.revenue)],
      );
      await client.query('DELETE FROM sales_metrics WHERE owner_key = $1 AND deals_won = 0 AND deals_lost = 0 AND revenue_closed = 0', [
        ownerKey(bucket.owner),
      ]);
    } else {
      await client.query(
        `INSERT INTO sales_metrics_monthly (owner_key, owner, month, deals_won, deals_lost, revenue_closed) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (owner_key, month) DO UPDATE SET deals_won = sales_metrics_monthly.deals_won + EXCLUDED.deals_won,
           deals_lost = sales_metrics_monthly.deals_lost + EXCLUDED.deals_lost,
           revenue_closed = sales_metrics_monthly.revenue_closed + EXCLUDED.revenue_closed, updated_at = now()`,
        [ownerKey(bucket.owner), bucket.owner, bucket.month, bucket.won, bucket.lost, money(bucket.revenue)],
      );
      await client.query(
        'DELETE FROM sales_metrics_monthly WHERE owner_key = $1 AND month = $2 AND deals_won = 0 AND deals_lost = 0 AND revenue_closed = 0',
        [ownerKey(bucket.owner), bucket.month],
      );
    }
  }
}

const lockOrder = (bucket: Bucket): string =>
  bucket.table === 'stage'
    ? `1|${bucket.stage}`
    : bucket.table === 'owner'
      ? `2|${ownerKey(bucket.owner)}`
      : `3|${ownerKey(bucket.owner)}|${bucket.month}`;

export interface Transition {
  opportunityId: string;
  from: string | null;
  to: string | null;
  value: string;
  owner: string | null;
  at: string;
  eventId: string;
}

/** One row per stage change (and insert); a copy of an event already recorded adds nothing. */
export async function insertTransition(client: Queryable, transition: Transition): Promise<void> {
  await client.query(
    `INSERT INTO stage_transitions (opportunity_id, from_stage, to_stage, value, owner, transitioned_at, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING`,
    [transition.opportunityId, transition.from, transition.to, transition.value, transition.owner, transition.at, transition.eventId],
  );
}

/** Live opportunities stored from `partition` at a position before `position`: what a truncate there removes. */
export async function storedBefore(client: Queryable, partition: number, position: EventPosition): Promise<string[]> {
  const { rows } = await client.query<{ opportunity_id: string }>(
    `SELECT opportunity_id FROM opportunity_projection
      WHERE source_partition = $1 AND NOT deleted AND (position_lsn, position_ord) < ($2::bigint, $3::int)
      ORDER BY opportunity_id`,
    [partition, position.lsn.toString(), position.ordinal],
  );
  return rows.map((row) => row.opportunity_id);
}
