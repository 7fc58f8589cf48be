import { loadMigrations, migrate, READER_ROLE, setReaderPassword } from '@pipeline/db';
import { SchemaResolver } from '@pipeline/kafka';
import { makeLogger } from '@pipeline/runtime';
import { bundledSchemas, type Envelope, EnvelopeDecoder, isSnapshotEnd, type SnapshotEnd } from '@pipeline/schemas';
import {
  createTestDatabase,
  sharedStack,
  type TestDatabase,
  testClient,
  testKafka,
  testLogLevel,
  testPool,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import { makeReaderMetrics, type ReaderMetrics } from '../metrics';
import { CdcReader, type CdcReaderOptions } from '../reader';

/** One decoded record of a cdc topic. */
export interface Received {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
  envelope: Envelope<Record<string, unknown>>;
}

/** An end-of-snapshot record, with where it was read. */
export interface ReceivedEnd {
  topic: string;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  end: SnapshotEnd;
}

/** A database, slot, topic prefix and schema topic of one test file's own. */
export interface ReaderFixture {
  db: TestDatabase;
  kafka: Kafka;
  slot: string;
  prefix: string;
  schemaTopic: string;
  deadLetterTopic: string;
  topic(table: string): string;
  /** The reader's settings, as the service would build them (overridable per test). */
  options(overrides?: Partial<CdcReaderOptions>): CdcReaderOptions;
  /** Environment for running the reader as a process (dist/main.js). */
  env(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * A reader's settings for tests and benchmarks: its own slot, topic prefix, schema and
 * dead-letter topics (all named after `id`), small backoffs, rare heartbeats and polls.
 */
export function testReaderOptions(base: { pool: pg.Pool; readerUrl: string; kafka: Kafka; id: string; level?: string }): CdcReaderOptions {
  return {
    pool: base.pool,
    connection: { connectionString: base.readerUrl },
    kafka: base.kafka,
    logger: makeLogger({ service: 'cdc-reader-test', level: base.level ?? 'silent' }),
    metrics: makeReaderMetrics(new Registry()),
    slot: `slot_${base.id}`,
    publication: 'pipeline',
    topicPrefix: `cdc_${base.id}`,
    topicPartitions: 3,
    topicReplicationFactor: 1,
    topicRetentionMs: -1,
    schemaTopic: `_pipeline.schemas.${base.id}`,
    deadLetterTopic: `_pipeline.cdc.dlq.${base.id}`,
    heartbeatIntervalMs: 60_000,
    maxInFlightBytes: 1024 * 1024,
    lingerMs: 5,
    reconnectMaxDelayMs: 1_000,
    slotLagPollMs: 60_000,
    snapshotMode: 'initial',
    snapshotPageRows: 500,
    allowNewSnapshot: false,
    standbyPollMs: 200,
    transactionTopic: false,
    onFatal: (error) => {
      throw error;
    },
  };
}

export async function readerFixture(name: string): Promise<ReaderFixture> {
  const db = await createTestDatabase(name);
  const kafka = testKafka(`cdc-test-${name}`);
  const id = uniqueName(name);
  const prefix = `cdc_${id}`;
  const schemaTopic = `_pipeline.schemas.${id}`;
  const deadLetterTopic = `_pipeline.cdc.dlq.${id}`;
  const pools: pg.Pool[] = [];
  return {
    db,
    kafka,
    slot: `slot_${id}`,
    prefix,
    schemaTopic,
    deadLetterTopic,
    topic: (table) => `${prefix}.public.${table}`,
    options(overrides = {}) {
      // A server restart ends idle connections: the pool replaces them.
      const pool = testPool({ connectionString: db.readerUrl, max: 3 });
      pools.push(pool);
      const registry = new Registry();
      return {
        ...testReaderOptions({ pool, readerUrl: db.readerUrl, kafka, id, level: testLogLevel('silent') }),
        metrics: makeReaderMetrics(registry),
        ...overrides,
      };
    },
    env() {
      return {
        DATABASE_URL: db.readerUrl,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_SLOT_NAME: `slot_${id}`,
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: deadLetterTopic,
        CDC_RECONNECT_MAX_DELAY_MS: '1000',
        LOG_LEVEL: testLogLevel('warn'),
      };
    },
    close: async () => {
      await Promise.all(pools.map((pool) => pool.end()));
      await db.drop();
    },
  };
}

/** The reader running in this process, with its metrics. */
export function startReader(
  fixture: ReaderFixture,
  overrides: Partial<CdcReaderOptions> = {},
): { reader: CdcReader; metrics: ReaderMetrics } {
  const options = fixture.options(overrides);
  const reader = new CdcReader(options);
  reader.start();
  return { reader, metrics: options.metrics };
}

/** Waits until the reader streams (its slot exists and a session is open). */
export async function waitStreaming(reader: CdcReader, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!reader.isStreaming) {
    if (Date.now() > deadline) throw new Error('the reader did not start streaming');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Reads the topics from the beginning until `done` says enough (or the timeout), decoding every
 * record with the bundled schemas and the fixture's schema topic, as a consumer would: every
 * envelope the reader wrote must pass the contract's validation.
 */
export async function consume(
  fixture: ReaderFixture,
  topics: string[],
  done: (received: Received[]) => boolean,
  timeoutMs = 60_000,
  /** Resolve with what arrived when the time is up, instead of failing (for diagnostics). */
  partialOnTimeout = false,
): Promise<Received[]> {
  return (await consumeWithEnds(fixture, topics, (received) => done(received), timeoutMs, partialOnTimeout)).changes;
}

/** As `consume`, keeping the end-of-snapshot records apart (`consume` leaves them out). */
export async function consumeWithEnds(
  fixture: ReaderFixture,
  topics: string[],
  done: (received: Received[], ends: ReceivedEnd[]) => boolean,
  timeoutMs = 60_000,
  partialOnTimeout = false,
): Promise<{ changes: Received[]; ends: ReceivedEnd[] }> {
  const resolver = new SchemaResolver({ kafka: fixture.kafka, topic: fixture.schemaTopic, bundled: bundledSchemas() });
  const decoder = new EnvelopeDecoder(resolver.resolve);
  const consumer = fixture.kafka.consumer({ groupId: uniqueName('test-consume'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  const received: Received[] = [];
  const ends: ReceivedEnd[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => (partialOnTimeout ? resolve() : reject(new Error(`timed out with ${received.length} records`))),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }) => {
            let decoded: Awaited<ReturnType<typeof decoder.decodeEvent<Record<string, unknown>>>>;
            try {
              decoded = await decoder.decodeEvent<Record<string, unknown>>(message.value);
            } catch (error) {
              clearTimeout(timer);
              reject(error);
              return;
            }
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            const where = { topic, partition, offset: message.offset, headers };
            if (isSnapshotEnd(decoded)) ends.push({ ...where, end: decoded });
            else received.push({ ...where, key: message.key ? message.key.toString() : null, envelope: decoded.envelope });
            if (done(received, ends)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { changes: received, ends };
}

/** Migrates a private stack's database and gives the owner's and the reader role's URLs. */
export async function migratePrivateDatabase(ownerUrl: string): Promise<{ ownerUrl: string; readerUrl: string }> {
  const client = testClient({ connectionString: ownerUrl });
  await client.connect();
  try {
    await migrate(client, loadMigrations());
    await setReaderPassword(client, 'reader');
  } finally {
    await client.end();
  }
  const readerUrl = new URL(ownerUrl);
  readerUrl.username = READER_ROLE;
  readerUrl.password = 'reader';
  return { ownerUrl, readerUrl: readerUrl.toString() };
}
