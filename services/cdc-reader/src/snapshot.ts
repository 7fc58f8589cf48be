import { finishSnapshotTable, recordSnapshotPage, startSnapshotTable } from '@pipeline/db';
import { makeProducer, SchemaPublisher } from '@pipeline/kafka';
import type { Logger } from '@pipeline/runtime';
import { type ParsedSchema, snapshotEndSchema } from '@pipeline/schemas';
import type { CompressionTypes, Kafka, Message } from 'kafkajs';
import type pg from 'pg';
import type { PublishedTable } from './catalog';
import { chunkRecords } from './chunks';
import type { ExportedSlot } from './exported-slot';
import { fitChange } from './fit';
import { mapSnapshotRead, type SnapshotContext } from './mapper';
import type { ReaderMetrics } from './metrics';
import { type BuiltRecord, snapshotEndRecords, tooLargeRecord } from './records';
import { produceFailure } from './refusals';
import type { RelationInfo } from './relation';
import { RelationRegistry } from './relations';
import type { TopicBudgets } from './topic-budget';
import { traceIdOf } from './trace';

export interface SnapshotOptions {
  pool: pg.Pool;
  kafka: Kafka;
  logger: Logger;
  metrics: ReaderMetrics;
  slot: string;
  tables: readonly PublishedTable[];
  topicPrefix: string;
  schemaTopic: string;
  writers: ReadonlyMap<string, ParsedSchema>;
  systemId: string;
  database: string;
  /** Partition count of each topic: every partition gets the end-of-snapshot record. */
  partitions: (topic: string) => number;
  /** Rows read and produced per page (keyset paging on the primary key). */
  pageRows: number;
  /** Each topic's limits: a page goes out in sends within them, a row too large without its largest values. */
  budgets: TopicBudgets;
  /** Where a row too large for its topic is told of (CDC_DLQ_TOPIC). */
  deadLetterTopic: string;
  compression?: CompressionTypes;
  /** False once this reader lost its leader lock (or is stopping): the snapshot stops producing. */
  isLeader: () => boolean;
  /** When the reader last created or verified its topics, ms since the epoch (see produceFailure). */
  topicsEnsuredAtMs: number;
}

/** Values as PostgreSQL's text output, exactly as pgoutput sends them: no parsing by `pg`. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * The initial snapshot: every row of the captured tables as `op=r`, read inside the slot's
 * exported snapshot (the database exactly as of the consistent point) in keyset-paged batches,
 * each page acknowledged by Kafka before the next, then an end-of-snapshot record on every
 * partition of the table's topic (the rows it did not re-read are gone). Progress is recorded per table in
 * `cdc_reader.snapshot_progress`; the exported snapshot dies with its connection, so a reader that
 * dies mid-snapshot starts over with a new slot (see prepareSlot).
 */
export async function runSnapshot(options: SnapshotOptions, exported: ExportedSlot): Promise<number> {
  const { pool, logger, metrics, slot } = options;
  const started = Date.now();
  const producer = makeProducer(options.kafka);
  await producer.connect();
  const client = await pool.connect();
  const compression = options.compression === undefined ? {} : { compression: options.compression };
  /** Sends and waits for every replica; a refusal that cannot pass stops the reader (produceFailure). */
  const send = async (topic: string, messages: Message[], what: string): Promise<void> => {
    try {
      await producer.send({ topic, acks: -1, messages, ...compression });
    } catch (error) {
      throw produceFailure(error, {
        what,
        topicMessages: [{ topic, messages }],
        partitions: (t) => (t === options.deadLetterTopic ? 1 : options.partitions(t)),
        topicsEnsuredAtMs: options.topicsEnsuredAtMs,
        nowMs: Date.now(),
      });
    }
  };
  let total = 0;
  metrics.snapshotRunning.set(1);
  try {
    const publisher = new SchemaPublisher(producer, options.schemaTopic);
    try {
      for (const writer of new Set(options.writers.values())) await publisher.publish(writer);
      await publisher.publish(snapshotEndSchema());
    } catch (error) {
      throw produceFailure(error, {
        what: 'a writer schema',
        topicMessages: [{ topic: options.schemaTopic, messages: [] }],
        partitions: () => 1,
        topicsEnsuredAtMs: options.topicsEnsuredAtMs,
        nowMs: Date.now(),
      });
    }
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${exported.snapshotName.replaceAll("'", "''")}'`);
    await client.query(`SET LOCAL DateStyle = 'ISO'; SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 3`);
    const { rows: now } = await client.query<{ ts: string }>(
      `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts`,
    );
    const context: SnapshotContext = {
      db: options.database,
      systemId: options.systemId,
      consistentPoint: exported.consistentPoint,
      snapshotTs: now[0]?.ts ?? new Date().toISOString(),
      nowMs: Date.now(),
    };
    const traceId = traceIdOf(options.systemId, `snapshot:${exported.consistentPoint}`);
    const relations = new RelationRegistry({ db: pool, topicPrefix: options.topicPrefix, writers: options.writers, logger, metrics });
    for (const table of options.tables) {
      const rel = await relations.fromCatalog(client, table);
      await startSnapshotTable(pool, slot, rel.subject);
      if (rel.primaryKey.length === 0) {
        throw new Error(`${rel.subject} has no primary key: the snapshot pages by primary key; add one to snapshot it`);
      }
      const columns = rel.columns.map((c) => quote(c.name)).join(', ');
      const key = rel.primaryKey.map(quote).join(', ');
      let last: (string | null)[] | undefined;
      let rowsOfTable = 0;
      logger.info({ slot, table: rel.subject, consistentPoint: exported.consistentPoint }, `snapshot of ${rel.subject} started`);
      for (;;) {
        const where = last ? `WHERE (${key}) > (${last.map((_, i) => `$${i + 1}`).join(', ')})` : '';
        const { rows } = await client.query<Record<string, string | null>>({
          text: `SELECT ${columns} FROM ${quote(rel.schema)}.${quote(rel.table)} ${where} ORDER BY ${key} LIMIT ${options.pageRows}`,
          values: last ?? [],
          types: RAW_TEXT,
        });
        if (rows.length === 0) break;
        if (!options.isLeader()) throw new Error('the snapshot stopped: this reader is no longer the leader (or is stopping)');
        context.nowMs = Date.now();
        const { records, letters } = pageRecords(options, rel, context, rows, traceId);
        for (const chunk of chunkRecords(records, options.budgets.batchBytes(rel.topic))) {
          await send(
            rel.topic,
            chunk.map((r) => r.message),
            `the snapshot rows of ${rel.subject}`,
          );
        }
        if (letters.length > 0) {
          await send(
            options.deadLetterTopic,
            letters.map((r) => r.message),
            `the dead letters of ${rel.subject}'s snapshot`,
          );
        }
        const lastRow = rows[rows.length - 1] as Record<string, string | null>;
        last = rel.primaryKey.map((column) => lastRow[column] ?? null);
        rowsOfTable += rows.length;
        total += rows.length;
        metrics.snapshotRows.inc({ table: rel.subject }, rows.length);
        await recordSnapshotPage(pool, slot, rel.subject, last, rowsOfTable);
        if (rows.length < options.pageRows) break;
      }
      if (!options.isLeader()) throw new Error('the snapshot stopped: this reader is no longer the leader (or is stopping)');
      const ends = snapshotEndRecords(
        {
          systemId: options.systemId,
          db: options.database,
          schema: rel.schema,
          table: rel.table,
          slot,
          consistentPoint: exported.consistentPoint,
          partitions: options.partitions(rel.topic),
          rows: rowsOfTable,
          nowMs: Date.now(),
        },
        traceId,
      );
      // After the table's last page was acknowledged: on each partition the end follows every row.
      await send(
        rel.topic,
        ends.map((end) => end.message),
        `the end-of-snapshot records of ${rel.subject}`,
      );
      await finishSnapshotTable(pool, slot, rel.subject, rowsOfTable);
      logger.info({ slot, table: rel.subject, rows: rowsOfTable }, `snapshot of ${rel.subject} done: ${rowsOfTable} rows`);
    }
    await client.query('COMMIT');
    logger.info(
      { slot, rows: total, seconds: (Date.now() - started) / 1000 },
      `initial snapshot done: ${total} rows; streaming from ${exported.consistentPoint}`,
    );
    return total;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    metrics.snapshotRunning.set(0);
    client.release();
    await producer.disconnect();
  }
}

/**
 * One page's rows as records within their topic's limits: a row too large goes without its
 * largest values (or, if even that does not fit, not at all), and gets a dead letter saying so.
 */
function pageRecords(
  options: SnapshotOptions,
  rel: RelationInfo,
  context: SnapshotContext,
  rows: readonly Record<string, string | null>[],
  traceId: string,
): { records: BuiltRecord[]; letters: BuiltRecord[] } {
  const table = { fields: rel.fields, keyColumns: rel.primaryKey, writer: rel.writer };
  const budget = options.budgets.recordBudget(rel.topic);
  const records: BuiltRecord[] = [];
  const letters: BuiltRecord[] = [];
  for (const row of rows) {
    const event = mapSnapshotRead(rel, context, row);
    const fit = fitChange(event, table, traceId, budget);
    if (fit.kind !== 'fits') {
      const letter = tooLargeRecord({
        subject: rel.subject,
        topic: rel.topic,
        eventId: event.envelope.eventId,
        commitLsn: context.consistentPoint,
        op: 'r',
        key: event.key,
        limitBytes: options.budgets.limit(rel.topic),
        recordBytes: fit.originalBytes,
        leftOut: fit.kind === 'shrunk' ? fit.leftOut : fit.columns,
        produced: fit.kind === 'shrunk',
        nowMs: context.nowMs,
      });
      options.logger.error(
        { table: rel.subject, eventId: event.envelope.eventId },
        `${letter.reason}. Inspect it with 'pipeline dlq list --service cdc-reader'`,
      );
      letters.push(letter);
      options.metrics.deadLetters.inc({ table: rel.subject });
      options.metrics.tooLarge.inc({ table: rel.subject, produced: fit.kind === 'shrunk' ? 'without_values' : 'not_produced' });
    }
    if (fit.kind !== 'too-large') records.push(fit.record);
  }
  return { records, letters };
}
