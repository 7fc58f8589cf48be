import { recordConfirmed, slotRows } from '@pipeline/db';
import { type Logger, PipelineError, sleep } from '@pipeline/runtime';
import { envelopeSchema, formatLsn, listSubjects, type ParsedSchema, parseLsn } from '@pipeline/schemas';
import type { CompressionTypes, Kafka } from 'kafkajs';
import type pg from 'pg';
import { BACKOFF_RESET_AFTER_MS, reconnectDelayMs, reconnectReason } from './backoff';
import { type PublishedTable, publishedTables, systemIdentifier } from './catalog';
import { refuseKeylessOnCompacted } from './compacted';
import type { ExportedSlot } from './exported-slot';
import { writeHeartbeat } from './heartbeat';
import { LeaderLock } from './leader';
import type { ReaderMetrics } from './metrics';
import { RelationRegistry } from './relations';
import { ReplicationSession } from './session';
import { prepareSlot } from './slot';
import { runSnapshot } from './snapshot';
import { attemptSnapshot } from './snapshot-attempt';
import { TopicBudgets } from './topic-budget';
import { ensureReaderTopics } from './topics';

export interface CdcReaderOptions {
  /** Pool as the reader role: catalog queries, state table, heartbeats. */
  pool: pg.Pool;
  /** Replication connection settings for the same role. */
  connection: pg.ClientConfig;
  kafka: Kafka;
  logger: Logger;
  metrics: ReaderMetrics;
  slot: string;
  publication: string;
  topicPrefix: string;
  topicPartitions: number;
  topicReplicationFactor: number;
  /** retention.ms of created topics; -1 keeps history. */
  topicRetentionMs: number;
  schemaTopic: string;
  deadLetterTopic: string;
  heartbeatIntervalMs: number;
  maxInFlightBytes: number;
  /** How long a batch with a finished transaction waits for more events, ms. */
  lingerMs: number;
  /** Longest wait between reconnection attempts, ms. */
  reconnectMaxDelayMs: number;
  slotLagPollMs: number;
  /** `initial`: a newly created slot first emits the existing rows (op r); `never`: changes only. */
  snapshotMode: 'initial' | 'never';
  /** Rows per page of the initial snapshot. */
  snapshotPageRows: number;
  /** Replace a vanished or lost slot with a new one and a new snapshot, instead of stopping. */
  allowNewSnapshot: boolean;
  /** How often a standby tries for the leader lock, and the leader checks its lock session, ms. */
  standbyPollMs: number;
  /** Write BEGIN and END records of each transaction to `<topicPrefix>.transactions`. */
  transactionTopic: boolean;
  /** Producer compression (KAFKA_COMPRESSION gzip); unset: none. */
  compression?: CompressionTypes;
  /** A condition that needs a person (a vanished or lost slot): the process should stop. */
  onFatal: (error: Error) => void;
}

/** Bytes that make a request; each topic's share of one is bounded by its max.message.bytes (TopicBudgets). */
const MAX_BATCH_BYTES = 512 * 1024;

/**
 * The cdc-reader: verifies its publication and slot, then runs replication sessions until
 * stopped, reconnecting with backoff after any failure. Each new session starts from the slot's
 * confirmed position, so nothing that was not acknowledged by Kafka is ever skipped.
 */
export class CdcReader {
  private session: ReplicationSession | undefined;
  private stopped = false;
  /** Aborted by stop(): ends any wait at once, so SIGTERM is not held up by it. */
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private streaming = false;
  private readonly partitionCounts = new Map<string, number>();
  private readonly writers = new Map<string, ParsedSchema>();
  private identity: { systemId: string; database: string } | undefined;
  private lastRecorded = 0;

  private readonly lock: LeaderLock;
  /** Set when the leader lock was lost: the next try for it waits a little first. */
  private demoted = false;

  constructor(private readonly options: CdcReaderOptions) {
    for (const subject of listSubjects()) this.writers.set(subject, envelopeSchema(subject));
    this.lock = new LeaderLock({
      connection: options.connection,
      slot: options.slot,
      logger: options.logger,
      pollMs: options.standbyPollMs,
      onLost: (reason) => this.lostLeadership(reason),
    });
  }

  private get transactionsTopic(): string {
    return `${this.options.topicPrefix}.transactions`;
  }

  /** True while this reader holds the slot's leader lock. */
  get isLeader(): boolean {
    return this.lock.held;
  }

  /** The lock's session ended: stop producing now; the loop then waits as a standby. */
  private lostLeadership(reason: string): void {
    const { options } = this;
    options.metrics.leader.set(0);
    this.demoted = true;
    options.logger.error(
      { slot: options.slot, reason },
      `lost the leader lock of slot ${options.slot} (${reason}): stopping production so a standby can take over`,
    );
    const session = this.session;
    void session?.stop().then(() => options.logger.warn({ slot: options.slot }, 'stopped producing: now a standby'));
  }

  /** The previous leader's walsender may hold the slot for a moment after it stopped. */
  private async waitSlotReleased(): Promise<void> {
    let announced = false;
    while (!this.stopped) {
      const [state] = await slotRows(this.options.pool, this.options.slot).catch(() => []);
      if (!state?.active) return;
      if (!announced) {
        announced = true;
        this.options.logger.info(
          { slot: this.options.slot, pid: state.activePid },
          `waiting for the previous leader's walsender (pid ${state.activePid}) to release slot ${this.options.slot}`,
        );
      }
      await sleep(100, this.stopping.signal);
    }
  }

  /** True while a session streams: what /readyz reports. */
  get isStreaming(): boolean {
    return this.streaming;
  }

  start(): void {
    this.loop = this.run();
    this.timers.push(setInterval(() => void this.heartbeat(), this.options.heartbeatIntervalMs));
    this.timers.push(setInterval(() => void this.pollSlot(), this.options.slotLagPollMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    for (const timer of this.timers) clearInterval(timer);
    await this.session?.stop();
    await this.loop;
    await this.lock.release();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      if (!this.lock.held) {
        this.options.metrics.leader.set(0);
        if (this.demoted) {
          // A reader that just lost its lock session steps back, so a healthy standby takes over first.
          this.demoted = false;
          await sleep(this.options.standbyPollMs * 5, this.stopping.signal);
        }
        if (!(await this.lock.acquire(() => this.stopped))) return;
        this.options.metrics.leader.set(1);
        this.options.logger.info({ slot: this.options.slot }, `leader of slot ${this.options.slot}`);
        await this.waitSlotReleased();
        if (this.stopped) return;
      }
      const startedAt = Date.now();
      try {
        await this.runSession();
        // Without a failure a session ends only on stop() or when the leader lock was lost.
        this.streaming = false;
        this.options.metrics.streaming.set(0);
        if (this.stopped) return;
      } catch (error) {
        this.streaming = false;
        this.options.metrics.streaming.set(0);
        if (this.stopped) return;
        // Not retriable: a condition a person must resolve (a lost or vanished slot); anything else reconnects.
        if (error instanceof PipelineError && !error.retriable) {
          this.options.logger.fatal({ err: error }, error.message);
          this.options.onFatal(error);
          return;
        }
        // A session that streamed for a while starts the backoff over.
        if (Date.now() - startedAt > BACKOFF_RESET_AFTER_MS) attempt = 0;
        const delayMs = reconnectDelayMs(attempt, this.options.reconnectMaxDelayMs);
        attempt++;
        this.options.metrics.reconnects.inc({ reason: reconnectReason(error) });
        this.options.logger.warn(
          { err: error, retryInMs: Math.round(delayMs), attempt },
          `replication session failed: ${(error as Error).message}; reconnecting from the slot's confirmed position`,
        );
        await sleep(delayMs, this.stopping.signal);
      }
    }
  }

  private async runSession(): Promise<void> {
    const { options } = this;
    this.identity ??= await systemIdentifier(options.pool);
    const tables = await publishedTables(options.pool, options.publication);
    const topics = await ensureReaderTopics(options.kafka, {
      topicPrefix: options.topicPrefix,
      tables,
      ...(options.transactionTopic ? { transactionsTopic: this.transactionsTopic } : {}),
      partitions: options.topicPartitions,
      replicationFactor: options.topicReplicationFactor,
      retentionMs: options.topicRetentionMs,
      deadLetterTopic: options.deadLetterTopic,
      schemaTopic: options.schemaTopic,
    });
    const topicsEnsuredAtMs = Date.now();
    await refuseKeylessOnCompacted(options.pool, options.publication, options.topicPrefix, topics.compacted);
    for (const [topic, partitions] of topics.partitions) this.partitionCounts.set(topic, partitions);
    const budgets = new TopicBudgets(topics.limits, options.compression !== undefined);
    const slot = await prepareSlot(options.pool, {
      slot: options.slot,
      publication: options.publication,
      ...this.identity,
      snapshot: options.snapshotMode,
      allowNewSnapshot: options.allowNewSnapshot,
      connection: options.connection,
      logger: options.logger,
    });
    if (slot.created)
      options.logger.info({ slot: options.slot, consistentPoint: slot.confirmedFlushLsn }, `created replication slot ${options.slot}`);
    if (slot.exported) {
      try {
        await this.snapshot(slot.exported, tables, budgets, topicsEnsuredAtMs);
      } finally {
        await slot.exported.close();
      }
    }
    const relations = new RelationRegistry({
      db: options.pool,
      topicPrefix: options.topicPrefix,
      writers: this.writers,
      logger: options.logger,
      metrics: options.metrics,
    });
    const session = new ReplicationSession({
      slot: options.slot,
      publication: options.publication,
      connection: options.connection,
      kafka: options.kafka,
      relations,
      partitions: (topic) => this.partitionCounts.get(topic) ?? options.topicPartitions,
      systemId: this.identity.systemId,
      database: this.identity.database,
      confirmedLsn: parseLsn(slot.confirmedFlushLsn),
      schemaTopic: options.schemaTopic,
      deadLetterTopic: options.deadLetterTopic,
      ...(options.transactionTopic ? { transactionsTopic: this.transactionsTopic } : {}),
      topicsEnsuredAtMs,
      maxBatchBytes: Math.min(MAX_BATCH_BYTES, Math.max(1, Math.floor(options.maxInFlightBytes / 2))),
      budgets,
      ...(options.compression === undefined ? {} : { compression: options.compression }),
      lingerMs: options.lingerMs,
      metrics: options.metrics,
      logger: options.logger,
      onConfirmed: (lsn) => this.confirmed(lsn),
      onStreaming: () => {
        this.streaming = true;
        options.metrics.streaming.set(1);
        options.logger.info({ slot: options.slot, from: slot.confirmedFlushLsn }, 'streaming');
      },
    });
    this.session = session;
    if (this.stopped || !this.lock.held) return;
    await session.run();
  }

  /** The initial snapshot, one attempt of it, its interruptions counted (attemptSnapshot). */
  private async snapshot(exported: ExportedSlot, tables: readonly PublishedTable[], budgets: TopicBudgets, topicsEnsuredAtMs: number) {
    const { options } = this;
    const identity = this.identity as { systemId: string; database: string };
    await attemptSnapshot(
      { pool: options.pool, slot: options.slot, logger: options.logger, ownFailure: () => !this.stopped && this.lock.held },
      () =>
        runSnapshot(
          {
            pool: options.pool,
            kafka: options.kafka,
            logger: options.logger,
            metrics: options.metrics,
            slot: options.slot,
            tables,
            topicPrefix: options.topicPrefix,
            schemaTopic: options.schemaTopic,
            writers: this.writers,
            ...identity,
            partitions: (topic) => this.partitionCounts.get(topic) ?? options.topicPartitions,
            pageRows: options.snapshotPageRows,
            budgets,
            deadLetterTopic: options.deadLetterTopic,
            ...(options.compression === undefined ? {} : { compression: options.compression }),
            isLeader: () => this.lock.held && !this.stopped,
            topicsEnsuredAtMs,
          },
          exported,
        ),
    );
  }

  private confirmed(lsn: bigint): void {
    // The state table keeps the last confirmed position for the vanished-slot message; at most once a second.
    if (Date.now() - this.lastRecorded < 1_000) return;
    this.lastRecorded = Date.now();
    recordConfirmed(this.options.pool, this.options.slot, formatLsn(lsn)).catch((error: unknown) =>
      this.options.logger.warn({ err: error }, 'could not record the confirmed position in cdc_reader.slots'),
    );
  }

  /** A non-transactional message in the WAL: lets an idle slot advance, and measures the delay. */
  private async heartbeat(): Promise<void> {
    // A standby writes nothing.
    if (!this.streaming) return;
    try {
      await writeHeartbeat(this.options.pool, Date.now());
    } catch (error) {
      this.options.logger.warn({ err: error }, 'heartbeat failed: is PostgreSQL reachable?');
    }
  }

  private async pollSlot(): Promise<void> {
    try {
      const [slot] = await slotRows(this.options.pool, this.options.slot);
      if (!slot) return;
      this.options.metrics.slotLag.set(slot.lagBytes ?? 0);
      this.options.metrics.slotRetained.set(slot.retainedBytes ?? 0);
      this.options.metrics.slotActive.set(slot.active ? 1 : 0);
    } catch (error) {
      this.options.logger.debug({ err: error }, 'slot lag poll failed');
    }
  }
}
