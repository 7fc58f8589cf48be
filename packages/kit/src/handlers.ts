import type { EffectOutcome, EffectResult, EffectSpec, Pool, PoolClient, Processed } from '@pipeline/db';
import type { HandlerResult } from '@pipeline/kafka';
import { type Logger, PipelineError } from '@pipeline/runtime';
import type { Change, RowTypes, SnapshotEnd, Subject } from '@pipeline/schemas';

/** What a cdc topic carries: changes, and once per snapshot and partition the end of the snapshot. */
export type CdcEvent = Change<unknown> | SnapshotEnd;

/** What a change handler gets besides the change. */
export interface ChangeContext<C> {
  service: string;
  /** The consumer group (CONSUMER_GROUP, default the service): what idempotency keys on. */
  group: string;
  eventId: string;
  /** Where this copy was read: the cdc topic, or a retry or redrive topic. */
  topic: string;
  partition: number;
  offset: string;
  /** 1 on the cdc topic, 2 on the first retry topic, … */
  attempt: number;
  /** Where the change was first read: its cdc topic, partition and offset (for a retry copy too). */
  source: { topic: string; partition: number; offset: string };
  /** Aborted when the handler's deadline (HANDLER_TIMEOUT_MS) passes or shutdown abandons it: stop, and commit nothing. */
  signal: AbortSignal;
  /** The service's logger with the event id, topic, partition, offset and attempt on every line. */
  logger: Logger;
  /** The service's parsed configuration. */
  config: C;
  pool: Pool;
  /**
   * Runs database effects once per consumer group and event: they commit with the
   * `processed_events` row, or not at all (a redelivery returns `skipped`). Past the deadline
   * everything rolls back with a retriable error.
   */
  processOnce<T>(effects: (client: PoolClient) => Promise<T>): Promise<Processed<T>>;
  /**
   * A projection's read-model change and its Kafka position in one transaction; an event at or
   * below the stored position, or applied before, is `skipped`. Past the deadline nothing commits.
   */
  applyWithCheckpoint(projection: string, apply: (client: PoolClient) => Promise<void>): Promise<HandlerResult>;
  /**
   * An effect outside the database (an email, a stored file) through the effects ledger. The
   * deadline is looked at before claiming and before performing, never after `perform` resolved.
   */
  performEffect(spec: EffectSpec, perform: () => Promise<EffectOutcome>): Promise<EffectResult>;
}

/**
 * Handles one change of one table. Throw a PipelineError saying whether a retry can help (an
 * unknown error counts as retriable); return `skipped` when it had been handled before.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has processed the change.
export type ChangeHandler<Row, C> = (change: Change<Row>, context: ChangeContext<C>) => Promise<HandlerResult | void>;

/** One change of a batch, with where it was read. */
export interface BatchItem<Row> {
  change: Change<Row>;
  eventId: string;
  offset: string;
}

/** What a batch handler gets: one source partition's changes, in order, of one table. */
export interface BatchContext<C> {
  service: string;
  group: string;
  topic: string;
  partition: number;
  /** Aborted when the batch's deadline (HANDLER_TIMEOUT_MS) passes or shutdown abandons it. */
  signal: AbortSignal;
  logger: Logger;
  config: C;
  pool: Pool;
  /**
   * The batch's read-model change and the projection's position in one transaction: changes at or
   * below the stored position, or applied before, are left out; `apply` gets the others, in order.
   * Returns one result per change of the batch.
   */
  applyBatchWithCheckpoint<Row>(
    projection: string,
    items: readonly BatchItem<Row>[],
    apply: (client: PoolClient, fresh: readonly BatchItem<Row>[]) => Promise<void>,
  ): Promise<HandlerResult[]>;
}

/**
 * Applies a batch of one table's changes at once (a projection). When it throws, the kit handles
 * the batch's changes one by one with the table's handler, so one poison change goes to the retry
 * ladder alone: a table with a batch handler needs a handler too.
 */
export type BatchHandler<Row, C> = (items: readonly BatchItem<Row>[], context: BatchContext<C>) => Promise<readonly HandlerResult[]>;

export type BatchHandlers<C> = { readonly [S in Subject]?: BatchHandler<RowTypes[S], C> };

/**
 * Told that a table's snapshot ended on one partition (`end.partition`): every row that snapshot
 * read onto the partition came before, so a row kept from there and not re-read was deleted while
 * no slot captured changes. Only services that register one see the record; for others the kit
 * acknowledges it unseen (outcome `skipped`). Its event id ranks just before the snapshot's rows.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has processed the record.
export type SnapshotEndHandler<C> = (end: SnapshotEnd, context: ChangeContext<C>) => Promise<HandlerResult | void>;

export type SnapshotEndHandlers<C> = { readonly [S in Subject]?: SnapshotEndHandler<C> };

/** One handler per captured table the service reads, each typed with that table's row. */
export type ChangeHandlers<C> = { readonly [S in Subject]?: ChangeHandler<RowTypes[S], C> };

/** The tables a handler map reads, in a stable order. */
export function subjectsOf<C>(handlers: ChangeHandlers<C>): Subject[] {
  return (Object.keys(handlers) as Subject[]).filter((subject) => handlers[subject] !== undefined).sort();
}

/** The handler of a change's table; a table without one is a dead letter that names it, never a crash. */
export function handlerFor<C>(handlers: ChangeHandlers<C>, change: Change<unknown>, where: { service: string; topic: string }) {
  // The map is indexed by the decoded subject, a string: which row type it carries is known only at run time.
  const handler = (handlers as Record<string, ChangeHandler<unknown, C> | undefined>)[change.subject];
  if (handler) return handler;
  throw new PipelineError(
    `${where.service} has no handler for table ${change.subject} (event ${change.eventId}, read from ${where.topic}); ` +
      `it handles ${subjectsOf(handlers).join(', ') || 'no table'}. Check what writes to ${where.topic}, ` +
      'or add a handler for the table; then redrive the letter.',
    { code: 'NO_HANDLER', retriable: false },
  );
}
