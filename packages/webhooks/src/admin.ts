import type { Pool } from '@pipeline/db';
import type { SecretBox } from './secret-box';
import { newSecret } from './signing';

/** A subscription as `pipeline webhooks list` shows it (no secret). */
export interface SubscriptionView {
  name: string;
  url: string;
  tables: string[];
  operations: string[];
  changedColumns: string[];
  active: boolean;
  disabledReason: string | null;
  rotating: boolean;
  /** Loopback and private addresses allowed (--allow-private). */
  allowPrivate: boolean;
  pending: number;
  dead: number;
  delivered: number;
}

export async function listSubscriptions(pool: Pool): Promise<SubscriptionView[]> {
  const { rows } = await pool.query<{
    name: string;
    url: string;
    tables: string[];
    operations: string[];
    changed_columns: string[];
    active: boolean;
    disabled_reason: string | null;
    rotating: boolean;
    allow_private: boolean;
    pending: number;
    dead: number;
    delivered: number;
  }>(
    `SELECT s.name, s.url, s.tables, s.operations, s.changed_columns, s.active, s.disabled_reason,
            coalesce(s.previous_secret_until > now(), false) AS rotating, s.allow_private,
            count(d.id) FILTER (WHERE d.status = 'pending')::int AS pending,
            count(d.id) FILTER (WHERE d.status = 'dead')::int AS dead,
            count(d.id) FILTER (WHERE d.status = 'delivered')::int AS delivered
       FROM webhook_subscriptions s LEFT JOIN webhook_deliveries d ON d.subscription_id = s.id
      GROUP BY s.id ORDER BY s.name`,
  );
  return rows.map((r) => ({
    name: r.name,
    url: r.url,
    tables: r.tables,
    operations: r.operations,
    changedColumns: r.changed_columns,
    active: r.active,
    disabledReason: r.disabled_reason,
    rotating: r.rotating,
    allowPrivate: r.allow_private,
    pending: r.pending,
    dead: r.dead,
    delivered: r.delivered,
  }));
}

/** The subscription's id, or an error that names the known ones. */
export async function subscriptionId(pool: Pool, name: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM webhook_subscriptions WHERE name = $1', [name]);
  if (rows[0]) return rows[0].id;
  const known = (await pool.query<{ name: string }>('SELECT name FROM webhook_subscriptions ORDER BY name')).rows.map((r) => r.name);
  throw new Error(
    `no webhook subscription named ${name}${known.length > 0 ? ` (there are: ${known.join(', ')})` : ' (`pipeline webhooks add` makes one)'}`,
  );
}

/** Turns a subscription on or off; on again, what it queued meanwhile goes out (and nothing was lost). */
export async function setActive(pool: Pool, name: string, active: boolean): Promise<void> {
  const id = await subscriptionId(pool, name);
  await pool.query(
    `UPDATE webhook_subscriptions SET active = $2, disabled_reason = CASE WHEN $2 THEN NULL ELSE 'disabled by an operator' END,
            backoff_until = NULL, updated_at = now() WHERE id = $1`,
    [id, active],
  );
}

/**
 * Lets a subscription's deliveries reach loopback and private addresses, or stops them; every
 * delivery checks it where it connects. Deliveries already dead for their address go out with
 * `redeliver --failed`.
 */
export async function setAllowPrivate(pool: Pool, name: string, allowPrivate: boolean): Promise<void> {
  const id = await subscriptionId(pool, name);
  await pool.query('UPDATE webhook_subscriptions SET allow_private = $2, updated_at = now() WHERE id = $1', [id, allowPrivate]);
}

/** A new secret for the subscription; the previous one keeps signing too for `overlapSeconds`. Returns the new secret. */
export async function rotateSecret(
  pool: Pool,
  box: SecretBox,
  name: string,
  overlapSeconds: number,
): Promise<{ secret: string; previousUntil: Date }> {
  const id = await subscriptionId(pool, name);
  const secret = newSecret();
  const { rows } = await pool.query<{ previous_secret_until: Date }>(
    `UPDATE webhook_subscriptions SET previous_secret_sealed = secret_sealed, secret_sealed = $2,
            previous_secret_until = now() + $3 * interval '1 second', updated_at = now()
      WHERE id = $1 RETURNING previous_secret_until`,
    [id, box.seal(secret, id), overlapSeconds],
  );
  return { secret, previousUntil: rows[0]?.previous_secret_until as Date };
}

/**
 * Queues deliveries again, as new attempts with the same webhook-id: the dead ones (`failed`),
 * or every one of changes committed since `since`. Returns how many.
 */
export async function redeliver(pool: Pool, name: string, which: { failed?: boolean; since?: Date }): Promise<number> {
  const id = await subscriptionId(pool, name);
  if (!which.failed && !which.since)
    throw new Error('say which deliveries: --failed (the dead ones) or --since TIME (every change committed since then)');
  const { rowCount } = await pool.query(
    `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL, finished_at = NULL
      WHERE subscription_id = $1 AND status <> 'pending'
        AND ($2::boolean IS NOT TRUE OR status = 'dead')
        AND ($3::timestamptz IS NULL OR committed_at >= $3)`,
    [id, which.failed ?? null, which.since ?? null],
  );
  await pool.query('UPDATE webhook_subscriptions SET backoff_until = NULL WHERE id = $1', [id]);
  return rowCount ?? 0;
}

/** One attempt, as `pipeline webhooks log` shows it. */
export interface AttemptView {
  at: Date;
  endpoint: string;
  eventId: string;
  statusCode: number | null;
  latencyMs: number;
  verdict: string;
  error: string | null;
}

export async function attemptLog(pool: Pool, options: { endpoint?: string; failed?: boolean; limit: number }): Promise<AttemptView[]> {
  const { rows } = await pool.query<{
    attempted_at: Date;
    name: string;
    event_id: string;
    status_code: number | null;
    latency_ms: number;
    verdict: string;
    error: string | null;
  }>(
    `SELECT a.attempted_at, s.name, a.event_id, a.status_code, a.latency_ms, a.verdict, a.error
       FROM webhook_attempts a JOIN webhook_subscriptions s ON s.id = a.subscription_id
      WHERE ($1::text IS NULL OR s.name = $1) AND ($2::boolean IS NOT TRUE OR a.verdict <> 'delivered')
      ORDER BY a.id DESC LIMIT $3`,
    [options.endpoint ?? null, options.failed ?? null, options.limit],
  );
  return rows.map((r) => ({
    at: r.attempted_at,
    endpoint: r.name,
    eventId: r.event_id,
    statusCode: r.status_code,
    latencyMs: r.latency_ms,
    verdict: r.verdict,
    error: r.error,
  }));
}
