import { join } from 'node:path';
import { type Envelope, edgeEnvelope, encodeSingleObject, envelopeSchema, firstEdgeRow, type OrdersRow } from '@pipeline/schemas';
import { freePort, sharedStack, spawnTs, type TestChild, uniqueName } from '@pipeline/testing';
import type { Kafka, Message } from 'kafkajs';

const orders = envelopeSchema('public.orders');

/** An order insert as the cdc-reader writes it: Avro single-object value, event-id header. */
export function orderCreated(eventId: string, id = 1): { envelope: Envelope<OrdersRow>; message: Message } {
  const after: OrdersRow = { ...firstEdgeRow('public.orders'), id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}` };
  const envelope = { ...edgeEnvelope<OrdersRow>('public.orders', 'c', null, after), eventId };
  return {
    envelope,
    message: { key: after.id, value: encodeSingleObject(orders, envelope), headers: { 'event-id': eventId } },
  };
}

/** A one-partition topic holding `count` order inserts at offsets 0…count-1, ids `<topic>:e<n>`. */
export async function topicWithOrders(kafka: Kafka, prefix: string, count: number): Promise<{ topic: string; ids: string[] }> {
  const topic = uniqueName(`test.${prefix}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const ids = Array.from({ length: count }, (_, i) => `${topic}:e${i}`);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: ids.map((id, i) => orderCreated(id, i).message) });
  await producer.disconnect();
  return { topic, ids };
}

/** Starts the test consumer service (consumer-child.ts) as a process; its HTTP port is the first line of `lines`. */
export async function startConsumerChild(databaseUrl: string, env: Record<string, string>): Promise<TestChild> {
  const port = await freePort();
  const child = spawnTs(join(__dirname, 'consumer-child.ts'), {
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
  child.lines.push(`port ${port}`);
  return child;
}
