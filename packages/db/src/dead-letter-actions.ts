import type { Pool } from './pool';

export type DeadLetterAction = 'redriven' | 'resolved';

export interface DeadLetterActionRecord {
  service: string;
  /** The consumer group whose `<group>.dlq` holds the letter. */
  group: string;
  partition: number;
  offset: string;
  action: DeadLetterAction;
  actor: string;
  note?: string;
  eventId?: string;
  at?: Date;
}

/** Records what an operator did with dead letters (one row each). */
export async function recordDeadLetterActions(pool: Pool, records: readonly DeadLetterActionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await pool.query(
    `INSERT INTO dead_letter_actions (service, consumer_group, dlq_partition, dlq_offset, action, actor, note, event_id)
     SELECT * FROM unnest($1::text[], $8::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])`,
    [
      records.map((r) => r.service),
      records.map((r) => r.partition),
      records.map((r) => r.offset),
      records.map((r) => r.action),
      records.map((r) => r.actor),
      records.map((r) => r.note ?? null),
      records.map((r) => r.eventId ?? null),
      records.map((r) => r.group),
    ],
  );
}

/** Everything done with the dead letters of a service's consumer group, by `<partition>:<offset>`, oldest first. */
export async function deadLetterActions(pool: Pool, service: string, group: string): Promise<Map<string, DeadLetterActionRecord[]>> {
  const { rows } = await pool.query<{
    dlq_partition: number;
    dlq_offset: string;
    action: DeadLetterAction;
    actor: string;
    note: string | null;
    event_id: string | null;
    created_at: Date;
  }>(
    `SELECT dlq_partition, dlq_offset::text, action, actor, note, event_id, created_at
       FROM dead_letter_actions WHERE service = $1 AND consumer_group = $2 ORDER BY created_at, id`,
    [service, group],
  );
  const byLetter = new Map<string, DeadLetterActionRecord[]>();
  for (const row of rows) {
    const key = `${row.dlq_partition}:${row.dlq_offset}`;
    const list = byLetter.get(key) ?? [];
    list.push({
      service,
      group,
      partition: row.dlq_partition,
      offset: row.dlq_offset,
      action: row.action,
      actor: row.actor,
      ...(row.note === null ? {} : { note: row.note }),
      ...(row.event_id === null ? {} : { eventId: row.event_id }),
      at: row.created_at,
    });
    byLetter.set(key, list);
  }
  return byLetter;
}
