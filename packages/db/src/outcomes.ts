import type { Pool } from './pool';

/** What happened to one event in one service: the trail `pipeline trace` will follow. */
export interface EventOutcome {
  service: string;
  /** The consumer group that handled it (the service name unless CONSUMER_GROUP says otherwise). */
  group: string;
  eventId: string;
  topic: string;
  partition: number;
  offset: string;
  outcome: 'processed' | 'skipped' | 'retried' | 'dead_lettered';
  attempt: number;
  error?: string;
}

export async function recordOutcome(pool: Pool, outcome: EventOutcome): Promise<void> {
  await pool.query(
    `INSERT INTO event_outcomes (service, consumer_group, event_id, topic, "partition", "offset", outcome, attempt, error)
     VALUES ($1, $9, $2, $3, $4, $5, $6, $7, $8)`,
    [
      outcome.service,
      outcome.eventId,
      outcome.topic,
      outcome.partition,
      outcome.offset,
      outcome.outcome,
      outcome.attempt,
      outcome.error ?? null,
      outcome.group,
    ],
  );
}

/** Every recorded outcome of an event, oldest first. */
export async function outcomesOf(pool: Pool, eventId: string): Promise<(EventOutcome & { recordedAt: Date })[]> {
  const { rows } = await pool.query<{
    service: string;
    consumer_group: string;
    event_id: string;
    topic: string;
    partition: number;
    offset: string;
    outcome: EventOutcome['outcome'];
    attempt: number;
    error: string | null;
    recorded_at: Date;
  }>(
    `SELECT service, consumer_group, event_id, topic, "partition", "offset"::text AS offset, outcome, attempt, error, recorded_at
       FROM event_outcomes WHERE event_id = $1 ORDER BY recorded_at, id`,
    [eventId],
  );
  return rows.map((r) => ({
    service: r.service,
    group: r.consumer_group,
    eventId: r.event_id,
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    outcome: r.outcome,
    attempt: r.attempt,
    ...(r.error === null ? {} : { error: r.error }),
    recordedAt: r.recorded_at,
  }));
}
