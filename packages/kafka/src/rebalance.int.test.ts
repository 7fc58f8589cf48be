import { processOnce } from '@pipeline/db';
import { makeLogger, PipelineError } from '@pipeline/runtime';
import { createTestDatabase, type TestDatabase, testKafka, testLogLevel, uniqueName } from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { ConsumerRunner } from './runner';
import { ensureTopics } from './topics';

interface TestEvent {
  id: string;
}

const COUNT = 300;

describe('two instances of a service through a rebalance', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  beforeAll(async () => {
    kafka = testKafka('rebalance');
    db = await createTestDatabase('rebalance');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('applies every event exactly once: no gap, no duplicate effect', async () => {
    const service = uniqueName('test-rebalance');
    const topic = uniqueName('test.rebalance');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1 }]);
    await admin.disconnect();
    let deliveries = 0;
    const make = (name: string) =>
      new ConsumerRunner<TestEvent>({
        kafka,
        service,
        topics: [topic],
        retry: { delaysMs: [200], jitter: 0 },
        decode: async (value) => {
          if (!value) throw new PipelineError('empty', { code: 'EMPTY', retriable: false });
          return JSON.parse(String(value)) as TestEvent;
        },
        handle: async (event) => {
          deliveries++;
          // Slow enough that the rebalance happens mid-stream.
          await new Promise((resolve) => setTimeout(resolve, 5));
          await processOnce(db.pool, service, event.id, async (client) => {
            await client.query(`INSERT INTO tasks (type, title) VALUES ('rebalance', $1)`, [event.id]);
          });
        },
        logger: makeLogger({ service: name, level: testLogLevel('silent') }),
      });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: Array.from({ length: COUNT }, (_, i) => ({ key: `k${i % 17}`, value: JSON.stringify({ id: `e${i}` }) })),
    });
    await producer.disconnect();

    const first = make('first');
    await first.start();
    while (deliveries < 40) await new Promise((resolve) => setTimeout(resolve, 20));
    const second = make('second');
    await second.start();
    const count = async () =>
      Number((await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE type = 'rebalance'`)).rows[0]?.n);
    const deadline = Date.now() + 60_000;
    while ((await count()) < COUNT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await first.stop();
    await second.stop();
    const { rows } = await db.pool.query<{ title: string; n: string }>(
      `SELECT title, count(*) AS n FROM tasks WHERE type = 'rebalance' GROUP BY title`,
    );
    expect(rows).toHaveLength(COUNT);
    expect(rows.every((r) => r.n === '1')).toBe(true);
    process.stdout.write(`rebalance: ${COUNT} events, ${deliveries} deliveries\n`);
  }, 120_000);
});
