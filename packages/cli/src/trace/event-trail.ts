import { dlqSelector, outcomesOf, outcomesOfRow, type Pool, type RecordedOutcome } from '@pipeline/db';
import { deadLetterTopic, readDeadLetterTopic } from '@pipeline/kafka';
import type { Kafka } from 'kafkajs';

/** One change's journey: where the reader put it, and what each consumer group did with it. */
export interface EventTrail {
  eventId: string;
  subject: string | null;
  rowKey: string | null;
  /** The commit LSN, from the event id (`<system id>:<LSN>:<ordinal>`). */
  lsn: string | null;
  committedAt: string | null;
  /** Where it was first read (the cdc topic). */
  source: { topic: string; partition: number; offset: string } | null;
  outcomes: OutcomeStep[];
  deadLetters: DeadLetterStep[];
}

export interface OutcomeStep {
  service: string;
  group: string;
  outcome: string;
  attempt: number;
  error: string | null;
  topic: string;
  recordedAt: string;
  /** From the commit to this outcome. */
  afterCommitMs: number | null;
}

export interface DeadLetterStep {
  service: string;
  group: string;
  error: string | null;
  /** Its position in `<group>.dlq`, when the letter was found there. */
  at: string | null;
  /** What to run once the cause is fixed. */
  redrive: string;
}

/** The trails of every event recorded for a row (a table and its key), oldest commit first. */
export async function rowTrails(pool: Pool, kafka: Kafka, subject: string, rowKey: string): Promise<EventTrail[]> {
  const byEvent = new Map<string, RecordedOutcome[]>();
  for (const outcome of await outcomesOfRow(pool, subject, rowKey)) {
    byEvent.set(outcome.eventId, [...(byEvent.get(outcome.eventId) ?? []), outcome]);
  }
  const trails = await Promise.all([...byEvent].map(([eventId, outcomes]) => trailOf(kafka, eventId, outcomes)));
  return trails.sort((a, b) => (a.committedAt ?? '').localeCompare(b.committedAt ?? ''));
}

/** One event's trail, by its id; undefined when no consumer recorded it. */
export async function eventTrail(pool: Pool, kafka: Kafka, eventId: string): Promise<EventTrail | undefined> {
  const outcomes = await outcomesOf(pool, eventId);
  return outcomes.length === 0 ? undefined : trailOf(kafka, eventId, outcomes);
}

async function trailOf(kafka: Kafka, eventId: string, rows: RecordedOutcome[]): Promise<EventTrail> {
  const committed = rows.find((row) => row.committedAt !== undefined)?.committedAt ?? null;
  const first = [...rows].sort((a, b) => a.attempt - b.attempt)[0] as RecordedOutcome;
  const lsn = /^[^:]+:([0-9A-Fa-f]+\/[0-9A-Fa-f]+):/.exec(eventId)?.[1] ?? null;
  const deadLetters: DeadLetterStep[] = [];
  for (const row of rows.filter((r) => r.outcome === 'dead_lettered')) deadLetters.push(await deadLetterStep(kafka, eventId, row));
  return {
    eventId,
    subject: rows.find((row) => row.subject !== undefined)?.subject ?? null,
    rowKey: rows.find((row) => row.rowKey !== undefined)?.rowKey ?? null,
    lsn,
    committedAt: committed?.toISOString() ?? null,
    source: first.attempt === 1 ? { topic: first.topic, partition: first.partition, offset: first.offset } : null,
    outcomes: rows.map((row) => ({
      service: row.service,
      group: row.group,
      outcome: row.outcome,
      attempt: row.attempt,
      error: row.error ?? null,
      topic: row.topic,
      recordedAt: row.recordedAt.toISOString(),
      afterCommitMs: committed ? row.recordedAt.getTime() - committed.getTime() : null,
    })),
    deadLetters,
  };
}

/** Where the letter sits in its group's dead-letter topic, and the command that sends it back. */
async function deadLetterStep(kafka: Kafka, eventId: string, row: RecordedOutcome): Promise<DeadLetterStep> {
  const selector = dlqSelector(row.service, row.group);
  let at: string | null = null;
  try {
    const letters = await readDeadLetterTopic(kafka, deadLetterTopic(row.group));
    const letter = letters.filter((l) => l.eventId === eventId).at(-1);
    if (letter) at = `${letter.partition}:${letter.offset}`;
  } catch {
    // The topic is gone or unreadable: the listing command still finds what there is.
  }
  return {
    service: row.service,
    group: row.group,
    error: row.error ?? null,
    at,
    redrive: at
      ? `npx pipeline dlq redrive ${selector} --at ${at} (once the cause is fixed; \`npx pipeline dlq show ${selector} --at ${at}\` shows it whole)`
      : `npx pipeline dlq list ${selector} (then \`dlq redrive ${selector} --at P:O\` once the cause is fixed)`,
  };
}
