import { type Pool, type PoolClient, withTransaction } from './pool';

export interface DeadLetterAlert {
  service: string;
  /** The consumer group whose `<group>.dlq` holds the letter. */
  group: string;
  errorCode: string;
  errorMessage: string;
  topic: string;
  partition: number;
  offset: string;
  eventId?: string;
}

/** A high-priority notification for the `admin` role. */
async function notifyAdmins(client: Pool | PoolClient, type: string, title: string, message: string): Promise<void> {
  await client.query(`INSERT INTO notifications (type, title, message, target_role, priority) VALUES ($1, $2, $3, 'admin', 'high')`, [
    type,
    title,
    message,
  ]);
}

/** `--service S`, and `--group G` when the group is not the service's default one. */
export function dlqSelector(service: string, group: string): string {
  return group === service ? `--service ${service}` : `--service ${service} --group ${group}`;
}

/**
 * Tells the admins that a service dead-lettered an event: a high-priority notification for the
 * `admin` role saying what failed and how to redrive it, at most one per service, consumer group
 * and error code per window (the letters in between are counted, and the next alert says how
 * many). Returns whether a notification was written.
 */
export async function alertDeadLetter(pool: Pool, alert: DeadLetterAlert, windowMs: number): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const window = await openAlertWindow(client, { service: alert.service, group: alert.group, code: alert.errorCode }, windowMs);
    if (window === undefined) return false;
    const selector = dlqSelector(alert.service, alert.group);
    await notifyAdmins(
      client,
      'dead_letter',
      `${alert.service}: an event was dead-lettered (${alert.errorCode})`,
      `${alert.errorMessage.slice(0, 500)} — from ${alert.topic} partition ${alert.partition} offset ${alert.offset}` +
        `${alert.eventId ? `, event ${alert.eventId}` : ''}` +
        `${alert.group === alert.service ? '' : `, consumer group ${alert.group}`}.` +
        `${window.suppressed > 0 ? ` ${window.suppressed} more with this error since the last alert.` : ''}` +
        ` Inspect: \`pipeline dlq list ${selector}\`. Once the cause is fixed: \`pipeline dlq redrive ${selector}\`;` +
        ` or mark it handled: \`pipeline dlq resolve ${selector} --at P:O --note "…"\`.`,
    );
    return true;
  });
}

/**
 * One alert per key and window (`admin_alert_windows`): the first of a window opens it and learns
 * how many were held back since the previous alert; one inside an open window is counted and
 * held back (undefined).
 */
async function openAlertWindow(
  client: PoolClient,
  key: { service: string; group: string; code: string },
  windowMs: number,
): Promise<{ suppressed: number } | undefined> {
  const { rows } = await client.query<{ previous: string }>(
    `INSERT INTO admin_alert_windows AS w (service, consumer_group, error_code, last_alert_at) VALUES ($1, $4, $2, now())
     ON CONFLICT (service, consumer_group, error_code) DO UPDATE SET last_alert_at = now(), suppressed = 0
       WHERE w.last_alert_at <= now() - make_interval(secs => $3::double precision / 1000)
     RETURNING (SELECT suppressed FROM admin_alert_windows WHERE service = $1 AND consumer_group = $4 AND error_code = $2)::text AS previous`,
    [key.service, key.code, windowMs, key.group],
  );
  if (rows.length === 0) {
    await client.query(
      'UPDATE admin_alert_windows SET suppressed = suppressed + 1 WHERE service = $1 AND consumer_group = $3 AND error_code = $2',
      [key.service, key.code, key.group],
    );
    return undefined;
  }
  return { suppressed: Number(rows[0]?.previous ?? 0) };
}

export interface JobFailureAlert {
  service: string;
  job: string;
  /** The occurrence that never succeeded. */
  scheduledFor: Date;
  attempts: number;
  error: string;
}

/** Tells the admins that a scheduled job gave up on an occurrence after retrying until the next one. */
export async function alertJobFailed(pool: Pool, alert: JobFailureAlert): Promise<void> {
  await notifyAdmins(
    pool,
    'job_failed',
    `${alert.service}: scheduled job ${alert.job} failed`,
    `The run due at ${alert.scheduledFor.toISOString()} failed ${alert.attempts} time${alert.attempts === 1 ? '' : 's'} and was ` +
      `retried until its next run was due; last error: ${alert.error.slice(0, 500)}. ` +
      `Inspect: \`pipeline jobs list\`. Once the cause is fixed, run it now: \`pipeline jobs run ${alert.job} --service ${alert.service}\`.`,
  );
}

export interface WebhookDeadAlert {
  subscription: string;
  url: string;
  eventId: string;
  attempts: number;
  error: string;
}

/**
 * Tells the admins that a webhook delivery is dead (its last attempt failed, or the endpoint or its
 * address refused it): at most one notification per subscription per window, the next one saying
 * how many more died in between, so an endpoint that refuses every change does not flood them.
 * Returns whether a notification was written.
 */
export async function alertWebhookDead(pool: Pool, alert: WebhookDeadAlert, windowMs: number): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const window = await openAlertWindow(
      client,
      { service: 'webhook-dispatcher', group: alert.subscription, code: 'WEBHOOK_DEAD' },
      windowMs,
    );
    if (window === undefined) return false;
    await notifyAdmins(
      client,
      'webhook_dead',
      `webhook-dispatcher: a delivery to ${alert.subscription} is dead`,
      `Event ${alert.eventId} to ${alert.url} failed after ${alert.attempts} attempt${alert.attempts === 1 ? '' : 's'}; last error: ` +
        `${alert.error.slice(0, 500)}.${window.suppressed > 0 ? ` ${window.suppressed} more deliveries to it died since the last alert.` : ''} ` +
        `Inspect: \`pipeline webhooks log --endpoint ${alert.subscription} --failed\`. Once the endpoint ` +
        `is fixed: \`pipeline webhooks redeliver --endpoint ${alert.subscription} --failed\`.`,
    );
    return true;
  });
}
