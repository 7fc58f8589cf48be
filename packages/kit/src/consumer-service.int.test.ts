import { databaseEnvSchema, outcomesOf, processOnce } from '@pipeline/db';
import { consumerEnvSchema, FAILURE_HEADERS, kafkaEnvSchema, topicEnvSchema } from '@pipeline/kafka';
import { makeLogger, parseConfig } from '@pipeline/runtime';
import {
  buildEnvelopeSchema,
  edgeEnvelope,
  encodeSingleObject,
  ensureSchemaTopic,
  envelopeSchema,
  firstEdgeRow,
  type OrdersRow,
  parseSchema,
  readRowSchema,
  SchemaPublisher,
} from '@pipeline/schemas';
import { createTestDatabase, sharedStack, type TestDatabase, testKafka, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { orderCreated } from './__tests__/changes';
import { type StartedConsumerService, startConsumerService } from './consumer-service';

/** public.orders as a newer writer would send it: one more column, a schema no consumer bundles yet. */
const evolved = parseSchema(
  buildEnvelopeSchema(
    'public.orders',
    (() => {
      const row = readRowSchema('public.orders');
      return { ...row, fields: [...row.fields, { name: 'priority', type: 'int', default: 0 }] };
    })(),
  ),
);

async function readTopic(kafka: Kafka, topic: string, count: number) {
  const consumer = kafka.consumer({ groupId: uniqueName('test-read') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { headers: Record<string, string> }[] = [];
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        out.push({ headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) });
        if (out.length >= count) resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

describe('startConsumerService: change envelopes through a service', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  let started: StartedConsumerService<OrdersRow>;
  let topic: string;
  let schemaTopic: string;
  const service = uniqueName('test-consumer-svc');
  const registry = new Registry();

  beforeAll(async () => {
    kafka = testKafka('consumer-service');
    db = await createTestDatabase('csvc');
    topic = uniqueName('test.csvc.cdc.public.orders');
    schemaTopic = uniqueName('test.csvc.schemas');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
    await ensureSchemaTopic(admin, schemaTopic);
    await admin.disconnect();
    const config = parseConfig(
      service,
      databaseEnvSchema.extend(kafkaEnvSchema.shape).extend(topicEnvSchema.shape).extend(consumerEnvSchema.shape),
      {
        DATABASE_URL: db.url,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        RETRY_DELAYS_MS: '1500,1500,1500',
        SCHEMA_TOPIC: schemaTopic,
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        HANDLER_TIMEOUT_MS: '3000',
        KAFKA_TOPIC_RETENTION_MS: '604800000',
      },
    );
    started = await startConsumerService<OrdersRow>(
      { config, logger: makeLogger({ service, level: process.env.TEST_LOG_LEVEL ?? 'silent' }), registry },
      {
        service,
        topics: [topic],
        handle: async (_change, { eventId, pool }) =>
          (
            await processOnce(pool, service, eventId, async (client) => {
              await client.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, eventId]);
            })
          ).status,
      },
    );
  }, 60_000);

  afterAll(async () => {
    await started?.stop();
    await db.drop();
  });

  it('processes valid changes, skips a duplicate, dead-letters garbage and invalid envelopes at once, retries an unknown schema until it is published', async () => {
    const invalid = { ...edgeEnvelope<OrdersRow>('public.orders', 'c', null, null), eventId: 'csvc-invalid' };
    const newer = {
      ...edgeEnvelope('public.orders', 'c', null, { ...firstEdgeRow('public.orders'), priority: 7 }),
      eventId: 'csvc-evolved',
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        orderCreated('csvc-ok', 1).message,
        orderCreated('csvc-ok', 1).message,
        { key: 'g', value: Buffer.from('{"id": 1, "status": "pending"}'), headers: { 'event-id': 'csvc-garbage' } },
        { key: 'i', value: encodeSingleObject(envelopeSchema('public.orders'), invalid), headers: { 'event-id': 'csvc-invalid' } },
        { key: 'e', value: encodeSingleObject(evolved, newer), headers: { 'event-id': 'csvc-evolved' } },
      ],
    });
    // Published only once the service has failed to find it.
    const deadline = Date.now() + 30_000;
    while (!(await outcomesOf(db.pool, 'csvc-evolved')).some((o) => o.outcome === 'retried')) {
      if (Date.now() > deadline) throw new Error('the unknown schema was never retried');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new SchemaPublisher(producer, schemaTopic).publish(evolved);
    while (!(await outcomesOf(db.pool, 'csvc-evolved')).some((o) => o.outcome === 'processed')) {
      if (Date.now() > deadline) throw new Error('the change with the newer schema was never processed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.disconnect();

    const trail = async (id: string) => (await outcomesOf(db.pool, id)).map((o) => `${o.outcome}@${o.attempt}`);
    expect(await trail('csvc-ok')).toEqual(['processed@1', 'skipped@1']);
    expect(await trail('csvc-garbage')).toEqual(['dead_lettered@1']);
    expect(await trail('csvc-invalid')).toEqual(['dead_lettered@1']);
    const evolvedTrail = await trail('csvc-evolved');
    expect(evolvedTrail[0]).toBe('retried@1');
    expect(evolvedTrail.at(-1)).toMatch(/^processed@[2-4]$/);
    expect(evolvedTrail.filter((t) => t.startsWith('dead_lettered'))).toEqual([]);

    const [invalidOutcome] = await outcomesOf(db.pool, 'csvc-invalid');
    expect(invalidOutcome?.error).toContain(
      'INVALID_ENVELOPE: invalid change envelope on public.orders (event csvc-invalid): op c without after',
    );
    const [garbageOutcome] = await outcomesOf(db.pool, 'csvc-garbage');
    expect(garbageOutcome?.error).toContain('not the Avro single-object marker c3 01 (it looks like JSON)');

    const dead = await readTopic(kafka, `${service}.dlq`, 2);
    expect(dead.map((d) => d.headers['event-id']).sort()).toEqual(['csvc-garbage', 'csvc-invalid']);
    for (const d of dead) {
      expect(d.headers[FAILURE_HEADERS.originalTopic]).toBe(topic);
      expect(d.headers[FAILURE_HEADERS.attempt]).toBe('1');
      expect(d.headers[FAILURE_HEADERS.consumerGroup]).toBe(service);
    }

    const tasks = await db.pool.query<{ title: string }>('SELECT title FROM tasks WHERE type = $1 ORDER BY title', [service]);
    expect(tasks.rows.map((r) => r.title)).toEqual(['csvc-evolved', 'csvc-ok']);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/consumer_events_total\{outcome="skipped"\} 1/);
    expect(metrics).toMatch(/consumer_events_total\{outcome="dead_lettered"\} 2/);
    // End to end: from the change's commit time (the fixture's) to handled.
    expect(metrics).toMatch(/consumer_event_age_seconds_count 3/);
  }, 90_000);

  it('creates its retry and dead-letter topics with the configured retention', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = [...started.runner.retryTopics, `${service}.dlq`];
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: 2, name, configNames: ['retention.ms'] })),
      });
      expect(resources.map((r) => r.configEntries[0]?.configValue)).toEqual(topics.map(() => '604800000'));
    } finally {
      await admin.disconnect();
    }
  });
});
