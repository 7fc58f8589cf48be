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
  await lockOpportunities(client, [id]);
  const { rows } = await client.query<StoredRow>(
    `SELECT ${STORED_COLUMNS} FROM opportunity_projection WHERE opportunity_id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0] ? toStored(rows[0]) : undefined;
}

/**
 * Serialises every transaction that applies a change of these opportunities until it ends, for an
 * opportunity not stored yet too (a row lock needs the row): the main consumer's batch and a retry
 * copy of the same opportunity's insert (its first attempt met the database restarting) both found
 * nothing stored, both moved the aggregates, and one delta stayed counted twice (found by the chaos
 * run). Locked in id order, as the rows, so two batches cannot deadlock.
 */
export async function lockOpportunities(client: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('opportunity-projection:' || id, 0)) FROM unnest($1::text[]) AS id ORDER BY id`,
    [[...new Set(ids)].sort()],
  );
}

/** Several opportunities as last applied, locked in id order (so two batches cannot deadlock). */
export async function readStoredMany(client: Queryable, ids: readonly string[]): Promise<Map<string, Stored>> {
  await lockOpportunities(client, ids);
  const { rows } = await client.query<StoredRow>(
    `SELECT ${STORED_COLUMNS} FROM opportunity_projection WHERE opportunity_id = ANY($1::uuid[]) ORDER BY opportunity_id FOR UPDATE`,
    [ids],
  );
  return new Map(rows.map((row) => [row.opportunity_id, toStored(row)]));
}

/** An opportunity's state to store (undefined: a tombstone) at a position, from a partition. */
export interface StoredEntry {
  id: string;
  state: ProjectedState | undefined;
  position: EventPosition;
  partition: number;
}

/** Several opportunities' states (undefined: a tombstone) in one statement. */
export async function writeStoredMany(client: Queryable, entries: readonly StoredEntry[]): Promise<void> {
  if (entries.length === 0) return;
  // One JSON document rather than nine arrays: JSON.stringify is native, pg's array quoting is not.
  const rows = entries.map((e) => ({
    i: e.id,
    s: e.state?.stage ?? null,
    v: e.state?.value ?? null,
    o: e.state?.owner ?? null,
    m: e.state?.closedMonth ?? null,
    l: e.position.lsn.toString(),
    r: e.position.ordinal,
    p: e.partition,
    d: e.state === undefined,
  }));
  await client.query(
    `INSERT INTO opportunity_projection (opportunity_id, stage, value, owner, closed_month, position_lsn, position_ord, source_partition, deleted)
     SELECT i, s, v, o, m, l, r, p, d
       FROM json_to_recordset($1::json) AS x(i uuid, s text, v numeric, o text, m date, l bigint, r int, p int, d boolean)
     ON CONFLICT (opportunity_id) DO UPDATE SET stage = EXCLUDED.stage, value = EXCLUDED.value, owner = EXCLUDED.owner,
       closed_month = EXCLUDED.closed_month, position_lsn = EXCLUDED.position_lsn, position_ord = EXCLUDED.position_ord,
       source_partition = EXCLUDED.source_partition, deleted = EXCLUDED.deleted, updated_at = now()`,
    [JSON.stringify(rows)],
  );
}

/** Several transition rows in one statement; copies of events already recorded add nothing. */
export async function insertTransitions(client: Queryable, transitions: readonly Transition[]): Promise<void> {
  if (transitions.length === 0) return;
  await client.query(
    `INSERT INTO stage_transitions (opportunity_id, from_stage, to_stage, value, owner, transitioned_at, event_id)
     SELECT "opportunityId", "from", "to", value, owner, at, "eventId"
       FROM json_to_recordset($1::json)
         AS x("opportunityId" uuid, "from" text, "to" text, value numeric, owner text, at timestamptz, "eventId" text)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(transitions)],
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
 * Moves the read-model tables by `buckets`, one statement per table (and one removing the buckets
 * that reached zero). Buckets are locked in one global order (table, then key: each statement
 * takes its rows in the order given), so two partitions' transactions moving the same buckets wait
 * for each other instead of deadlocking.
 */
export async function applyBuckets(client: Queryable, buckets: readonly Bucket[]): Promise<void> {
  const sorted = [...buckets].sort((a, b) => (lockOrder(a) < lockOrder(b) ? -1 : lockOrder(a) > lockOrder(b) ? 1 : 0));
  const stages = sorted.filter((b): b is Extract<Bucket, { table: 'stage' }> => b.table === 'stage');
  const owners = sorted.filter((b): b is Extract<Bucket, { table: 'owner' }> => b.table === 'owner');
  const months = sorted.filter((b): b is Extract<Bucket, { table: 'monthly' }> => b.table === 'monthly');
  if (stages.length > 0) {
    await client.query(
      `INSERT INTO pipeline_stage_values (stage, opportunity_count, total_value)
       SELECT stage, n, total FROM unnest($1::text[], $2::int[], $3::numeric[]) WITH ORDINALITY AS b(stage, n, total, ord) ORDER BY ord
       ON CONFLICT (stage) DO UPDATE SET opportunity_count = pipeline_stage_values.opportunity_count + EXCLUDED.opportunity_count,
         total_value = pipeline_stage_values.total_value + EXCLUDED.total_value, updated_at = now()`,
      [stages.map((b) => b.stage), stages.map((b) => b.count), stages.map((b) => money(b.value))],
    );
    await client.query('DELETE FROM pipeline_stage_values WHERE stage = ANY($1::text[]) AND opportunity_count = 0 AND total_value = 0', [
      stages.map((b) => b.stage),
    ]);
  }
  if (owners.length > 0) {
    await client.query(
      `INSERT INTO sales_metrics (owner_key, owner, deals_won, deals_lost, revenue_closed)
       SELECT k, o, w, l, r FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::numeric[]) WITH ORDINALITY AS b(k, o, w, l, r, ord) ORDER BY ord
       ON CONFLICT (owner_key) DO UPDATE SET deals_won = sales_metrics.deals_won + EXCLUDED.deals_won,
         deals_lost = sales_metrics.deals_lost + EXCLUDED.deals_lost, revenue_closed = sales_metrics.revenue_closed + EXCLUDED.revenue_closed,
         updated_at = now()`,
      [
        owners.map((b) => ownerKey(b.owner)),
        owners.map((b) => b.owner),
        owners.map((b) => b.won),
        owners.map((b) => b.lost),
        owners.map((b) => money(b.revenue)),
      ],
    );
    await client.query(
      'DELETE FROM sales_metrics WHERE owner_key = ANY($1::text[]) AND deals_won = 0 AND deals_lost = 0 AND revenue_closed = 0',
      [owners.map((b) => ownerKey(b.owner))],
    );
  }
  if (months.length > 0) {
    await client.query(
      `INSERT INTO sales_metrics_monthly (owner_key, owner, month, deals_won, deals_lost, revenue_closed)
       SELECT k, o, m, w, l, r FROM unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::int[], $6::numeric[])
         WITH ORDINALITY AS b(k, o, m, w, l, r, ord) ORDER BY ord
       ON CONFLICT (owner_key, month) DO UPDATE SET deals_won = sales_metrics_monthly.deals_won + EXCLUDED.deals_won,
         deals_lost = sales_metrics_monthly.deals_lost + EXCLUDED.deals_lost,
         revenue_closed = sales_metrics_monthly.revenue_closed + EXCLUDED.revenue_closed, updated_at = now()`,
      [
        months.map((b) => ownerKey(b.owner)),
        months.map((b) => b.owner),
        months.map((b) => b.month),
        months.map((b) => b.won),
        months.map((b) => b.lost),
        months.map((b) => money(b.revenue)),
      ],
    );
    await client.query(
      `DELETE FROM sales_metrics_monthly m USING unnest($1::text[], $2::date[]) AS b(k, month)
        WHERE m.owner_key = b.k AND m.month = b.month AND m.deals_won = 0 AND m.deals_lost = 0 AND m.revenue_closed = 0`,
      [months.map((b) => ownerKey(b.owner)), months.map((b) => b.month)],
    );
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

/** Below this position everything stored from `partition` was removed (a truncate, the end of a snapshot); undefined: never. */
export async function readFloor(client: Queryable, partition: number): Promise<EventPosition | undefined> {
  const { rows } = await client.query<{ position_lsn: string; position_ord: number }>(
    'SELECT position_lsn::text AS position_lsn, position_ord FROM opportunity_projection_floors WHERE source_partition = $1',
    [partition],
  );
  const row = rows[0];
  return row ? { lsn: BigInt(row.position_lsn), ordinal: row.position_ord } : undefined;
}

/** Raises a partition's floor to `position` (never lowers it). */
export async function raiseFloor(client: Queryable, partition: number, position: EventPosition): Promise<void> {
  await client.query(
    `INSERT INTO opportunity_projection_floors (source_partition, position_lsn, position_ord) VALUES ($1, $2, $3)
     ON CONFLICT (source_partition) DO UPDATE SET position_lsn = EXCLUDED.position_lsn, position_ord = EXCLUDED.position_ord, updated_at = now()
       WHERE (opportunity_projection_floors.position_lsn, opportunity_projection_floors.position_ord) < (EXCLUDED.position_lsn, EXCLUDED.position_ord)`,
    [partition, position.lsn.toString(), position.ordinal],
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
