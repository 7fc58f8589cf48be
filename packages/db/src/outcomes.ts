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
  /** The change's commit time (known once it decoded). */
  committedAt?: Date;
  /** Its table, `public.orders`. */
  subject?: string;
  /** Its row's key (the message key). */
  rowKey?: string;
}

export async function recordOutcome(pool: Pool, outcome: EventOutcome): Promise<void> {
  await recordOutcomes(pool, [outcome]);
}

/** Several outcomes in one statement (a batch's). */
export async function recordOutcomes(pool: Pool, outcomes: readonly EventOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await pool.query(
    `INSERT INTO event_outcomes (service, consumer_group, event_id, topic, "partition", "offset", outcome, attempt, error,
                                 committed_at, subject, row_key)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[], $8::int[], $9::text[],
                          $10::timestamptz[], $11::text[], $12::text[])`,
    [
      outcomes.map((o) => o.service),
      outcomes.map((o) => o.group),
      outcomes.map((o) => o.eventId),
      outcomes.map((o) => o.topic),
      outcomes.map((o) => o.partition),
      outcomes.map((o) => o.offset),
      outcomes.map((o) => o.outcome),
      outcomes.map((o) => o.attempt),
      outcomes.map((o) => o.error ?? null),
      outcomes.map((o) => o.committedAt?.toISOString() ?? null),
      outcomes.map((o) => o.subject ?? null),
      outcomes.map((o) => o.rowKey ?? null),
    ],
  );
}

/** An outcome as recorded, with when. */
export type RecordedOutcome = EventOutcome & { recordedAt: Date };

/** Every recorded outcome of an event, oldest first. */
export function outcomesOf(pool: Pool, eventId: string): Promise<RecordedOutcome[]> {
  return selectOutcomes(pool, 'event_id = $1', [eventId]);
}

/** Every recorded outcome of a row's events (its table and key, as `pipeline trace` follows them), oldest first. */
export function outcomesOfRow(pool: Pool, subject: string, rowKey: string): Promise<RecordedOutcome[]> {
  return selectOutcomes(pool, 'subject = $1 AND row_key = $2', [subject, rowKey]);
}

async function selectOutcomes(pool: Pool, where: string, params: unknown[]): Promise<RecordedOutcome[]> {
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
    committed_at: Date | null;
    subject: string | null;
    row_key: string | null;
  }>(
    `SELECT service, consumer_group, event_id, topic, "partition", "offset"::text AS offset, outcome, attempt, error, recorded_at,
            committed_at, subject, row_key
       FROM event_outcomes WHERE ${where} ORDER BY recorded_at, id`,
    params,
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
    ...(r.committed_at === null ? {} : { committedAt: r.committed_at }),
    ...(r.subject === null ? {} : { subject: r.subject }),
    ...(r.row_key === null ? {} : { rowKey: r.row_key }),
    recordedAt: r.recorded_at,
  }));
}
