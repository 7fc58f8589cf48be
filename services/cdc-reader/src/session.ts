import { makeProducer, SchemaPublisher } from '@pipeline/kafka';
import type { Logger } from '@pipeline/runtime';
import { formatLsn, formatTimestampMicros, parseLsn, transactionSchema } from '@pipeline/schemas';
import type { CompressionTypes, Kafka, Producer, TopicMessages } from 'kafkajs';
import type { ClientConfig } from 'pg';
import { LogicalReplicationService, type Pgoutput } from 'pg-logical-replication';
import { EventBatcher } from './batcher';
import { fitChange } from './fit';
import { heartbeatEmittedAt, isHeartbeat } from './heartbeat';
import { mapChange, type OutEvent, type RowChange, rowChangeOf, type TxContext } from './mapper';
import type { ReaderMetrics } from './metrics';
import { TextPgoutputPlugin } from './plugin';
import { deadLetterRecord, tooLargeRecord, transactionRecord } from './records';
import { produceFailure } from './refusals';
import type { RelationInfo } from './relation';
import type { RelationRegistry } from './relations';
import type { TopicBudgets } from './topic-budget';
import { traceIdOf } from './trace';

export interface SessionOptions {
  slot: string;
  publication: string;
  /** Replication connection settings (a role with REPLICATION). */
  connection: ClientConfig;
  kafka: Kafka;
  relations: RelationRegistry;
  /** Partition count of each topic, for truncates. */
  partitions: (topic: string) => number;
  systemId: string;
  database: string;
  /** When the reader last created or verified its topics, ms since the epoch (see produceFailure). */
  topicsEnsuredAtMs: number;
  /** The slot's confirmed position when the session starts: what keepalives report until the first commit. */
  confirmedLsn: bigint;
  schemaTopic: string;
  deadLetterTopic: string;
  /** Where BEGIN and END records of each transaction go; unset: none are written. */
  transactionsTopic?: string;
  maxBatchBytes: number;
  /** Each topic's limits (from its max.message.bytes): batches and records stay within them. */
  budgets: TopicBudgets;
  /** Producer compression (KAFKA_COMPRESSION), or none. */
  compression?: CompressionTypes;
  /** How long a batch with a finished transaction waits for more events before it is sent, ms. */
  lingerMs: number;
  metrics: ReaderMetrics;
  logger: Logger;
  /** Called after each confirmation, with the position now confirmed. */
  onConfirmed: (lsn: bigint) => void;
  /** Called once the server started streaming. */
  onStreaming: () => void;
  now?: () => number;
}

/** A session ended by stop(): not an error. */
export class SessionStopped extends Error {}

/** The transaction being read: its context, and what it has produced so far. */
type OpenTx = TxContext & {
  commitMicros: bigint;
  events: number;
  traceId?: string;
  /** Its BEGIN record is written (with the first event). */
  begun: boolean;
  /** Events produced per table (`<schema>.<table>`), for its END record. */
  perTable: Map<string, number>;
};

/**
 * One replication session: START_REPLICATION from the slot's confirmed position (0/0 asks the
 * server for it), decode, produce, and confirm each transaction only after Kafka acknowledged all
 * of its events and every earlier one. It never confirms a position it has not made safe, and
 * after any failure it confirms nothing more: the next session starts over from the slot.
 */
export class ReplicationSession {
  private readonly service: LogicalReplicationService;
  private readonly plugin: TextPgoutputPlugin;
  private producer: Producer | undefined;
  private batcher: EventBatcher | undefined;
  private failure: Error | undefined;
  private stopping = false;
  private lastSafe: bigint;
  private tx: OpenTx | undefined;
  private feedbackTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: SessionOptions) {
    this.lastSafe = options.confirmedLsn;
    this.now = options.now ?? Date.now;
    // Manual acknowledgement only: the library's timer would confirm the last *received* position.
    this.service = new LogicalReplicationService(options.connection, {
      acknowledge: { auto: false, timeoutSeconds: 0 },
      flowControl: { enabled: true },
    });
    // Protocol 1: large transactions are spilled by PostgreSQL and sent at commit (2's streaming is unsupported).
    this.plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [options.publication], messages: true });
  }

  /** Streams until stop() or a failure; rejects with the failure. */
  async run(): Promise<void> {
    const { options } = this;
    // Stopped before it started (the leader lock was lost in between): nothing to do.
    if (this.stopping) return;
    this.producer = makeProducer(options.kafka);
    await this.producer.connect();
    this.batcher = new EventBatcher({
      producer: this.producer,
      maxBatchBytes: options.maxBatchBytes,
      topicBatchBytes: (topic) => options.budgets.batchBytes(topic),
      ...(options.compression === undefined ? {} : { compression: options.compression }),
      lingerMs: options.lingerMs,
      onSent: (bytes) => options.metrics.bytes.inc(bytes),
      onSafe: (lsn, commitMicros) => {
        this.confirm(lsn);
        const nowMicros = this.now() * 1000;
        for (const micros of commitMicros) {
          options.metrics.transactions.inc();
          options.metrics.commitToAck.observe(Math.max(0, nowMicros - Number(micros)) / 1e6);
        }
      },
      onError: (error, topicMessages) => this.fail(this.produceFailure(error, 'the changes of a transaction', topicMessages)),
    });
    try {
      // Every writer schema is published before the first record that uses it.
      const publisher = new SchemaPublisher(this.producer, options.schemaTopic);
      try {
        for (const writer of new Set(options.relations.writers())) await publisher.publish(writer);
        if (options.transactionsTopic) await publisher.publish(transactionSchema());
      } catch (error) {
        throw this.produceFailure(error, 'a writer schema', [{ topic: options.schemaTopic, messages: [] }]);
      }

      this.service.on('data', async (lsn: string, message: Pgoutput.Message) => {
        if (this.failure || this.stopping) return;
        try {
          await this.handle(lsn, message);
        } catch (error) {
          this.fail(error);
        }
      });
      this.service.on('heartbeat', (_lsn: string, _ts: number, shouldRespond: boolean) => {
        if (shouldRespond) this.sendFeedback();
      });
      this.service.on('error', (error: Error) => this.fail(error));
      this.service.on('start', () => options.onStreaming());
      // Keepalive replies also go out while reading is paused behind a slow Kafka, so the
      // walsender never times the session out (wal_sender_timeout).
      this.feedbackTimer = setInterval(() => this.sendFeedback(), 10_000);
      await this.service.subscribe(this.plugin, options.slot, '0/0');
      if (this.failure) throw this.failure;
      if (!this.stopping) throw new Error('the replication stream ended (server closed the connection)');
    } catch (error) {
      throw this.failure ?? error;
    } finally {
      clearInterval(this.feedbackTimer);
      await this.service.destroy().catch(() => undefined);
      await this.producer.disconnect().catch(() => undefined);
    }
  }

  /** Stops reading, sends what is buffered and confirms what Kafka acknowledged, then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.batcher?.drain().catch(() => undefined);
    this.sendFeedback();
    await this.service.stop().catch(() => undefined);
  }

  /** A failed produce as the reader sees it: permanent (the reader stops), too large or retriable. */
  private produceFailure(error: unknown, what: string, topicMessages: readonly TopicMessages[]): unknown {
    return produceFailure(error, {
      what,
      topicMessages,
      partitions: (topic) => this.options.partitions(topic),
      topicsEnsuredAtMs: this.options.topicsEnsuredAtMs,
      nowMs: this.now(),
    });
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    void this.service.stop().catch(() => undefined);
  }

  /** Reports `lastSafe` as flushed. The library reports lsn + 1, so it is given lastSafe - 1. */
  private sendFeedback(): void {
    if (this.failure || this.lastSafe === 0n) return;
    void this.service.acknowledge(formatLsn(this.lastSafe - 1n)).catch(() => undefined);
  }

  private confirm(lsn: bigint): void {
    if (this.failure || lsn <= this.lastSafe) return;
    this.lastSafe = lsn;
    this.sendFeedback();
    this.options.metrics.confirmedLsn.set(Number(lsn));
    this.options.onConfirmed(lsn);
  }

  private async handle(lsn: string, message: Pgoutput.Message): Promise<void> {
    const { options } = this;
    const batcher = this.batcher as EventBatcher;
    switch (message.tag) {
      case 'begin': {
        let ordinal = 0;
        const commitMicros = BigInt(message.commitTime as bigint);
        this.tx = {
          db: options.database,
          systemId: options.systemId,
          commitLsn: formatLsn(parseLsn(message.commitLsn ?? lsn)),
          xid: message.xid >>> 0,
          commitTs: formatTimestampMicros(commitMicros),
          nowMs: this.now(),
          nextOrdinal: () => ordinal++,
          commitMicros,
          events: 0,
          begun: false,
          perTable: new Map(),
        };
        return;
      }
      case 'relation':
        await options.relations.update(message);
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const rel = options.relations.get(message.relation.relationOid);
        options.relations.countUnknown(rel);
        await this.emit(rel, rowChangeOf(message), message);
        return;
      }
      case 'truncate':
        for (const relation of message.relations) {
          const rel = options.relations.get(relation.relationOid);
          await this.emit(rel, { tag: 'truncate', partitions: options.partitions(rel.topic) }, message);
        }
        return;
      case 'commit': {
        if (this.requireTx().begun) await this.transactionRecord('END');
        // Confirmed when the batch holding the transaction's last event is acknowledged; reading
        // goes on meanwhile, so small transactions share round trips.
        batcher.markPosition(parseLsn(message.commitEndLsn ?? lsn), this.requireTx().commitMicros);
        this.tx = undefined;
        return;
      }
      case 'message': {
        if (!isHeartbeat(message)) return;
        const emittedAtMs = heartbeatEmittedAt(message);
        if (emittedAtMs !== undefined) options.metrics.heartbeatLatency.observe(Math.max(0, this.now() - emittedAtMs) / 1000);
        // A heartbeat arrives between transactions: its position is safe once everything before it
        // is acknowledged, which lets the slot advance while the captured tables are idle.
        if (!this.tx) batcher.markPosition(parseLsn(message.messageLsn ?? lsn));
        return;
      }
      default:
        return;
    }
  }

  private traceId(): string {
    const tx = this.requireTx();
    tx.traceId ??= traceIdOf(tx.systemId, tx.commitLsn);
    return tx.traceId;
  }

  private requireTx(): OpenTx {
    if (!this.tx) throw new Error('a change arrived outside a transaction');
    return this.tx;
  }

  /**
   * Maps, encodes and queues a change (all of its events, or none); one that cannot be encoded
   * goes to the dead-letter topic instead. One too large for its topic goes without its largest
   * values, and a dead letter says which (see fitChange); nothing before or after it waits.
   */
  private async emit(rel: RelationInfo, change: RowChange, raw: Pgoutput.Message): Promise<void> {
    const batcher = this.batcher as EventBatcher;
    const { budgets } = this.options;
    const table = { fields: rel.fields, keyColumns: rel.primaryKey.length > 0 ? rel.primaryKey : rel.identityKey, writer: rel.writer };
    let fitted: { event: OutEvent; fit: ReturnType<typeof fitChange> }[];
    try {
      const events = mapChange(rel, this.requireTx(), change);
      fitted = events.map((event) => ({ event, fit: fitChange(event, table, this.traceId(), budgets.recordBudget(event.topic)) }));
    } catch (error) {
      await this.deadLetter(rel, raw, error);
      return;
    }
    if (this.options.transactionsTopic && !this.requireTx().begun) await this.transactionRecord('BEGIN');
    const perTable = this.requireTx().perTable;
    for (const { event, fit } of fitted) {
      if (fit.kind !== 'fits') await this.tooLarge(rel, event, fit);
      if (fit.kind === 'too-large') continue;
      perTable.set(rel.subject, (perTable.get(rel.subject) ?? 0) + 1);
      await batcher.add(event.topic, fit.record.message, fit.record.bytes);
      this.options.metrics.events.inc({ table: rel.subject, op: event.envelope.op });
    }
  }

  /** The dead letter of a change too large for its topic, and the error line that says what to do. */
  private async tooLarge(rel: RelationInfo, event: OutEvent, fit: Exclude<ReturnType<typeof fitChange>, { kind: 'fits' }>): Promise<void> {
    const tx = this.requireTx();
    const letter = tooLargeRecord({
      subject: rel.subject,
      topic: event.topic,
      eventId: event.envelope.eventId,
      commitLsn: tx.commitLsn,
      op: event.envelope.op,
      key: event.key,
      limitBytes: this.options.budgets.limit(event.topic),
      recordBytes: fit.originalBytes,
      leftOut: fit.kind === 'shrunk' ? fit.leftOut : fit.columns,
      produced: fit.kind === 'shrunk',
      nowMs: this.now(),
    });
    this.options.logger.error(
      { table: rel.subject, commitLsn: tx.commitLsn, eventId: event.envelope.eventId },
      `${letter.reason}. Inspect it with 'pipeline dlq list --service cdc-reader'`,
    );
    await (this.batcher as EventBatcher).add(this.options.deadLetterTopic, letter.message, letter.bytes);
    this.options.metrics.deadLetters.inc({ table: rel.subject });
    this.options.metrics.tooLarge.inc({ table: rel.subject, produced: fit.kind === 'shrunk' ? 'without_values' : 'not_produced' });
  }

  /**
   * BEGIN before a transaction's first event (PostgreSQL skips transactions without captured
   * changes, and so does the topic), END after its last, with the events it produced per table.
   */
  private async transactionRecord(status: 'BEGIN' | 'END'): Promise<void> {
    const topic = this.options.transactionsTopic;
    if (!topic) return;
    const tx = this.requireTx();
    tx.begun = true;
    const record = transactionRecord(status, tx, this.traceId(), this.options.partitions(topic));
    await (this.batcher as EventBatcher).add(topic, record.message, record.bytes);
  }

  private async deadLetter(rel: RelationInfo, raw: Pgoutput.Message, error: unknown): Promise<void> {
    const tx = this.requireTx();
    const record = deadLetterRecord({
      subject: rel.subject,
      topic: rel.topic,
      eventId: `${tx.systemId}:${tx.commitLsn}:${tx.nextOrdinal()}`,
      commitLsn: tx.commitLsn,
      xid: tx.xid,
      change: raw as unknown as { tag: string } & Record<string, unknown>,
      error,
      nowMs: this.now(),
    });
    this.options.logger.error(
      { table: rel.subject, commitLsn: tx.commitLsn, err: error },
      `a change to ${rel.subject} cannot be encoded and went to ${this.options.deadLetterTopic}: ${record.reason}. ` +
        `Inspect it with 'pipeline dlq list --service cdc-reader'`,
    );
    await (this.batcher as EventBatcher).add(this.options.deadLetterTopic, record.message, record.bytes);
    this.options.metrics.deadLetters.inc({ table: rel.subject });
  }
}
