import { type Pool, withTransaction } from './pool';

export interface DeadLetterAlert {
  service: string;
  errorCode: string;
  errorMessage: string;
  topic: string;
  partition: number;
  offset: string;
  eventId?: string;
}

/**
 * Tells the admins that a service dead-lettered an event: a high-priority notification for the
 * `admin` role saying what failed and how to redrive it, at most one per service and error code
 * per window (the letters in between are counted, and the next alert says how many).
 * Returns whether a notification was written.
 */
export async function alertDeadLetter(pool: Pool, alert: DeadLetterAlert, windowMs: number): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ previous: string }>(
      `INSERT INTO admin_alert_windows AS w (service, error_code, last_alert_at) VALUES ($1, $2, now())
       ON CONFLICT (service, error_code) DO UPDATE SET last_alert_at = now(), suppressed = 0
         WHERE w.last_alert_at <= now() - make_interval(secs => $3::double precision / 1000)
       RETURNING (SELECT suppressed FROM admin_alert_windows WHERE service = $1 AND error_code = $2)::text AS previous`,
      [alert.service, alert.errorCode, windowMs],
    );
    if (rows.length === 0) {
      await client.query('UPDATE admin_alert_windows SET suppressed = suppressed + 1 WHERE service = $1 AND error_code = $2', [
        alert.service,
        alert.errorCode,
      ]);
      return false;
    }
    const earlier = Number(rows[0]?.previous ?? 0);
    await client.query(
      `INSERT INTO notifications (type, title, message, target_role, priority) VALUES ('dead_letter', $1, $2, 'admin', 'high')`,
      [
        `${alert.service}: an event was dead-lettered (${alert.errorCode})`,
        `${alert.errorMessage.slice(0, 500)} — from ${alert.topic} partition ${alert.partition} offset ${alert.offset}` +
          `${alert.eventId ? `, event ${alert.eventId}` : ''}.` +
          `${earlier > 0 ? ` ${earlier} more with this error since the last alert.` : ''}` +
          ` Inspect: pipeline dlq list --service ${alert.service}. Once the cause is fixed: pipeline dlq redrive --service ${alert.service};` +
          ` or mark it handled: pipeline dlq resolve --service ${alert.service} --at P:O --note "…".`,
      ],
    );
    return true;
  });
}
