import { createTestDatabase, testKafka, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { ensureTopics, KEEP_FOREVER } from './topics';

describe('the real Kafka broker of the local stack', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = testKafka('broker-int-test');
  });

  it('creates a topic with its partitions and retention, then produces and consumes through it', async () => {
    const topic = uniqueName('test.roundtrip');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: KEEP_FOREVER }]);
      expect(created).toEqual([topic]);
      // A second call finds the topic and creates nothing.
      expect(await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }])).toEqual([]);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(3);
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }],
        includeSynonyms: false,
      });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('-1');
    } finally {
      await admin.disconnect();
    }

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i % 7}`, value: `value-${i}` }));
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('test-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            received.push({ key: String(message.key), value: String(message.value), partition });
            if (received.length === messages.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    expect(received.map((m) => m.value).sort()).toEqual(messages.map((m) => m.value).sort());
    // Every message of one key lands on one partition, in the order it was produced.
    for (const key of new Set(messages.map((m) => m.key))) {
      const ofKey = received.filter((m) => m.key === key);
      expect(new Set(ofKey.map((m) => m.partition)).size).toBe(1);
      const expected = messages.filter((m) => m.key === key).map((m) => m.value);
      expect(ofKey.map((m) => m.value)).toEqual(expected);
    }
  });

  it('is reachable while a test database exists beside it (both parts of one stack)', async () => {
    const db = await createTestDatabase('broker');
    try {
      const admin = kafka.admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      expect(cluster.brokers.length).toBe(1);
      const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM schema_migrations');
      expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(3);
    } finally {
      await db.drop();
    }
  });
});
