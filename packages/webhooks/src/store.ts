import type { Pool, PoolClient } from '@pipeline/db';
import type { SubscriptionFilter } from './condition';
import type { WebhookPayload } from './payload';

/** A subscription as the dispatcher uses it (secrets still sealed). */
export interface Subscription extends SubscriptionFilter {
  id: string;
  name: string;
  url: string;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretUntil: Date | null;
  active: boolean;
  maxConcurrency: number;
  maxPerSecond: number | null;
  /** Loopback and private addresses allowed (added with --allow-private). */
  allowPrivate: boolean;
}

interface SubscriptionRow {
  id: string;
  name: string;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_until: Date | null;
  tables: string[];
  operations: WebhookPayload['type'][];
  changed_columns: string[];
  active: boolean;
  max_concurrency: number;
  max_per_second: string | null;
  allow_private: boolean;
}

function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    secretSealed: row.secret_sealed,
    previousSecretSealed: row.previous_secret_sealed,
    previousSecretUntil: row.previous_secret_until,
    tables: row.tables,
    operations: row.operations,
    changedColumns: row.changed_columns,
    active: row.active,
    maxConcurrency: row.max_concurrency,
    maxPerSecond: row.max_per_second === null ? null : Number(row.max_per_second),
    allowPrivate: row.allow_private,
  };
}

/** Active subscriptions to a table. */
export async function subscriptionsOf(client: Pool | PoolClient, table: string): Promise<Subscription[]> {
  const { rows } = await client.query<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE active AND $1 = ANY (tables)', [table]);
  return rows.map(toSubscription);
}

export async function subscriptionsById(pool: Pool, ids: readonly string[]): Promise<Map<string, Subscription>> {
  const { rows } = await pool.query<SubscriptionRow>('SELECT * FROM webhook_subscriptions WHERE id = ANY ($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, toSubscription(row)]));
}

export interface NewSubscription extends SubscriptionFilter {
  /** Chosen by the caller: the secret is sealed for it (SecretBox binds a seal to its subscription). */
  id: string;
  name: string;
  url: string;
  secretSealed: string;
  maxConcurrency?: number;
  maxPerSecond?: number;
  allowPrivate?: boolean;
}

export async function insertSubscription(pool: Pool, s: NewSubscription): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO webhook_subscriptions
       (id, name, url, secret_sealed, tables, operations, changed_columns, max_concurrency, max_per_second, allow_private)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [
      s.id,
      s.name,
      s.url,
      s.secretSealed,
      s.tables,
      s.operations,
      s.changedColumns,
      s.maxConcurrency ?? 4,
      s.maxPerSecond ?? null,
      s.allowPrivate ?? false,
    ],
  );
  return rows[0]?.id as string;
}

/** A delivery to queue: one subscription, one event. */
export interface QueuedDelivery {
  subscriptionId: string;
  eventId: string;
  webhookId: string;
  rowKey: string;
  payload: WebhookPayload;
  committedAt: string;
}

/** Queues deliveries (in the caller's transaction); one already queued for the subscription and event stays as it is. */
export async function enqueue(client: PoolClient, deliveries: readonly QueuedDelivery[]): Promise<number> {
  if (deliveries.length === 0) return 0;
  const { rowCount } = await client.query(
    `INSERT INTO webhook_deliveries (subscription_id, event_id, webhook_id, row_key, payload, committed_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
     ON CONFLICT (subscription_id, event_id) DO NOTHING`,
    [
      deliveries.map((d) => d.subscriptionId),
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.webhookId),
      deliveries.map((d) => d.rowKey),
      deliveries.map((d) => JSON.stringify(d.payload)),
      deliveries.map((d) => d.committedAt),
    ],
  );
  return rowCount ?? 0;
}

/** A claimed delivery, ready to send. */
export interface DueDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  webhookId: string;
  payload: WebhookPayload;
  committedAt: Date | null;
  attempts: number;
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`: pending, due, of an active subscription not
 * backing off and not among `busy`, and each the oldest pending one of its row for its
 * subscription (so a row's changes reach an endpoint in commit order). Fair across endpoints: at
 * most `max_concurrency` of one subscription per claim, so one endpoint's backlog (a failing one's
 * retries, a slow one's queue) never takes the claim from the others.
 */
export async function claimDue(pool: Pool, options: { limit: number; leaseMs: number; busy: readonly string[] }): Promise<DueDelivery[]> {
  const { rows } = await pool.query<{
    id: string;
    subscription_id: string;
    event_id: string;
    webhook_id: string;
    payload: WebhookPayload;
    committed_at: Date | null;
    attempts: number;
  }>(
    `WITH candidates AS (
       SELECT d.id
         FROM webhook_subscriptions s
        CROSS JOIN LATERAL (
          SELECT e.id FROM webhook_deliveries e
           WHERE e.subscription_id = s.id AND e.status = 'pending' AND e.next_attempt_at <= now()
             AND (e.locked_until IS NULL OR e.locked_until < now())
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o
                              WHERE o.subscription_id = e.subscription_id AND o.row_key = e.row_key AND o.status = 'pending' AND o.id < e.id)
           ORDER BY e.id
           LIMIT s.max_concurrency) c
         JOIN webhook_deliveries d ON d.id = c.id
        WHERE s.active AND (s.backoff_until IS NULL OR s.backoff_until <= now())
          AND NOT (s.id = ANY ($3::uuid[]))
        ORDER BY d.id LIMIT $1
        FOR UPDATE OF d SKIP LOCKED)
     UPDATE webhook_deliveries d SET locked_until = now() + $2 * interval '1 millisecond'
       FROM candidates c WHERE d.id = c.id
     RETURNING d.id::text, d.subscription_id, d.event_id, d.webhook_id, d.payload, d.committed_at, d.attempts`,
    [options.limit, options.leaseMs, options.busy],
  );
  return rows
    .map((r) => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      eventId: r.event_id,
      webhookId: r.webhook_id,
      payload: r.payload,
      committedAt: r.committed_at,
      attempts: r.attempts,
    }))
    .sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
}

/** Gives a claimed delivery back untouched (claimed beyond its endpoint's concurrency). */
export async function release(pool: Pool, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await pool.query('UPDATE webhook_deliveries SET locked_until = NULL WHERE id = ANY ($1::bigint[])', [ids]);
}

export interface AttemptRecord {
  deliveryId: string;
  subscriptionId: string;
  eventId: string;
  statusCode: number | null;
  latencyMs: number;
  verdict: 'delivered' | 'retry' | 'disable' | 'dead';
  error: string | null;
}

/** Records an attempt and its consequence on the delivery (and the subscription) in one transaction. */
export async function settle(
  pool: Pool,
  attempt: AttemptRecord,
  next: { retryAt?: Date; disable?: string },
): Promise<{ attempts: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO webhook_attempts (delivery_id, subscription_id, event_id, status_code, latency_ms, verdict, error)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [attempt.deliveryId, attempt.subscriptionId, attempt.eventId, attempt.statusCode, attempt.latencyMs, attempt.verdict, attempt.error],
    );
    let updated: { attempts: number } | undefined;
    if (attempt.verdict === 'delivered' || attempt.verdict === 'dead') {
      ({
        rows: [updated],
      } = await client.query<{ attempts: number }>(
        `UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, finished_at = now(), locked_until = NULL, last_error = $3
          WHERE id = $1 RETURNING attempts`,
        [attempt.deliveryId, attempt.verdict, attempt.error],
      ));
      if (attempt.verdict === 'delivered') {
        await client.query('UPDATE webhook_subscriptions SET backoff_until = NULL WHERE id = $1', [attempt.subscriptionId]);
      }
    } else {
      ({
        rows: [updated],
      } = await client.query<{ attempts: number }>(
        `UPDATE webhook_deliveries SET attempts = attempts + $3, next_attempt_at = coalesce($2, now()), locked_until = NULL, last_error = $4
          WHERE id = $1 RETURNING attempts`,
        [attempt.deliveryId, next.retryAt ?? null, attempt.verdict === 'retry' ? 1 : 0, attempt.error],
      ));
      if (next.retryAt) {
        await client.query('UPDATE webhook_subscriptions SET backoff_until = greatest(coalesce(backoff_until, $2), $2) WHERE id = $1', [
          attempt.subscriptionId,
          next.retryAt,
        ]);
      }
      if (next.disable) {
        await client.query('UPDATE webhook_subscriptions SET active = false, disabled_reason = $2, updated_at = now() WHERE id = $1', [
          attempt.subscriptionId,
          next.disable,
        ]);
      }
    }
    await client.query('COMMIT');
    return { attempts: updated?.attempts ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Pending deliveries per subscription (the queue's depth). */
export async function queueDepth(pool: Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ name: string; n: number }>(
    `SELECT s.name, count(d.id)::int AS n FROM webhook_subscriptions s
       LEFT JOIN webhook_deliveries d ON d.subscription_id = s.id AND d.status = 'pending' GROUP BY s.name`,
  );
  return new Map(rows.map((r) => [r.name, r.n]));
}
