import { resolve } from 'node:path';
import { ensureTopics } from '@pipeline/kafka';
import {
  controlKey,
  type Envelope,
  EVENT_HEADERS,
  encodeSingleObject,
  envelopeSchema,
  type OrdersRow,
  type RowTypes,
  SNAPSHOT_END,
  type Subject,
  snapshotEndSchema,
} from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow, snapshotEndFixture } from '@pipeline/schemas/fixtures';
import type { Kafka, Message } from 'kafkajs';
import { spawnTs, type TestChild } from '../child';
import { uniqueName } from '../database';
import { freePort } from '../private-stack';
import { sharedStack } from '../shared-stack';

/**
 * A change as the cdc-reader writes it: Avro single-object value, event-id header, keyed by the
 * row's id. `before` (an update's old row, default `row`) and `unavailable` (columns holding a
 * placeholder) shape it further.
 */
export function changeMessage<S extends Subject>(
  subject: S,
  eventId: string,
  op: 'c' | 'u' | 'd',
  row: RowTypes[S],
  options: { before?: RowTypes[S]; unavailable?: string[] } = {},
): { envelope: Envelope<RowTypes[S]>; message: Message } {
  const envelope = {
    ...edgeEnvelope<RowTypes[S]>(subject, op, op === 'c' ? null : (options.before ?? row), op === 'd' ? null : row),
    eventId,
    ...(options.unavailable ? { unavailable: options.unavailable } : {}),
  };
  return {
    envelope,
    message: {
      key: (row as { id: string }).id,
      value: encodeSingleObject(envelopeSchema(subject), envelope),
      headers: { 'event-id': eventId },
    },
  };
}

/** An order insert as the cdc-reader writes it. */
export function orderCreated(eventId: string, id = 1): { envelope: Envelope<OrdersRow>; message: Message } {
  const after: OrdersRow = { ...firstEdgeRow('public.orders'), id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}` };
  return changeMessage('public.orders', eventId, 'c', after);
}

/**
 * A cdc topic prefix of its own, whose one-partition `<prefix>.public.orders` holds `count` order
 * inserts at offsets 0…count-1, ids `<topic>:e<n>`.
 */
export async function topicWithOrders(
  kafka: Kafka,
  prefix: string,
  count: number,
): Promise<{ prefix: string; topic: string; ids: string[] }> {
  const cdcPrefix = uniqueName(`test_${prefix}`);
  const topic = `${cdcPrefix}.public.orders`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
  await admin.disconnect();
  const ids = Array.from({ length: count }, (_, i) => `${topic}:e${i}`);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: ids.map((id, i) => orderCreated(id, i).message) });
  await producer.disconnect();
  return { prefix: cdcPrefix, topic, ids };
}

/** The test consumer service (children/consumer-service.ts), from src whether this runs from src or dist. */
export const CONSUMER_SERVICE_CHILD = resolve(__dirname, '..', '..', 'src', 'children', 'consumer-service.ts');

/** Starts the test consumer service as a process; its HTTP port is the first line of `lines` (`port N`). */
export async function startConsumerChild(databaseUrl: string, env: Record<string, string>): Promise<TestChild & { port: number }> {
  const port = await freePort();
  const child = spawnTs(CONSUMER_SERVICE_CHILD, {
    DATABASE_URL: databaseUrl,
    KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
    HTTP_PORT: String(port),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    // The broker's minimum: a killed member's partitions move on after 6 s.
    CONSUMER_SESSION_TIMEOUT_MS: '6000',
    HANDLER_TIMEOUT_MS: '5000',
    SHUTDOWN_GRACE_MS: '1500',
    SHUTDOWN_TIMEOUT_MS: '8000',
    SCHEMA_TOPIC: uniqueName('test.schemas'),
    ...env,
  });
  child.lines.unshift(`port ${port}`);
  return { ...child, port };
}

/** The end of a table's snapshot on one partition, as the cdc-reader writes it (its control key, that partition). */
export function snapshotEndMessage(subject: Subject, partition: number, partitions: number, consistentPoint = '0/10'): Message {
  const record = snapshotEndFixture(subject, partition, partitions, consistentPoint);
  return {
    key: controlKey(SNAPSHOT_END, subject, partition),
    partition,
    value: encodeSingleObject(snapshotEndSchema(), record),
    headers: { [EVENT_HEADERS.eventId]: record.eventId, [EVENT_HEADERS.control]: SNAPSHOT_END },
  };
}
