import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Stack } from '@pipeline/stack';
import {
  createTestDatabase,
  freePort,
  privateStack,
  startConsumerChild,
  type TestChild,
  type TestDatabase,
  taskEffects,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import { startReaderProcess } from '../services/cdc-reader/src/__tests__/process';
import { insertOrders } from './support';

const OUTAGE_MS = 60_000;

/**
 * The broker goes away for a minute under a running reader and consumer service (a private
 * broker of this test's own). Whatever the consumer does meanwhile (kafkajs restarts it, or it
 * exits for its supervisor — here the test — to restart), every order written before, during
 * and after the outage is handled, each exactly once.
 */
describe('a consumer service while its broker is away for a minute', () => {
  let stack: Stack;
  let db: TestDatabase;
  let reader: ChildProcess | undefined;
  let consumer: TestChild | undefined;

  beforeAll(async () => {
    stack = await privateStack(['kafka']);
    await stack.up();
    db = await createTestDatabase('outage');
  }, 120_000);
  afterAll(async () => {
    for (const child of [consumer?.process, reader]) {
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await stack?.destroy();
    await db?.drop();
  });

  it('handles every change written before, during and after the outage once', async () => {
    const brokers = stack.endpoints.kafkaBrokers.join(',');
    const service = uniqueName('test-outage');
    const prefix = uniqueName('test_outage');
    const schemaTopic = uniqueName('_pipeline.schemas.outage');
    reader = await startReaderProcess(
      {
        DATABASE_URL: db.readerUrl,
        KAFKA_BROKERS: brokers,
        CDC_SLOT_NAME: uniqueName('slot_outage'),
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.outage'),
        CDC_RECONNECT_MAX_DELAY_MS: '2000',
        LOG_LEVEL: testLogLevel('error'),
      },
      await freePort(),
    );
    const startConsumer = () =>
      startConsumerChild(db.url, { SERVICE: service, CDC_TOPIC_PREFIX: prefix, SCHEMA_TOPIC: schemaTopic, KAFKA_BROKERS: brokers });
    consumer = await startConsumer();
    const exits: string[] = [];
    /** What a supervisor does: start the service again when it has exited. */
    const supervise = async (): Promise<void> => {
      if (consumer && consumer.process.exitCode === null && consumer.process.signalCode === null) return;
      const ended = await consumer?.exited;
      exits.push(`exited with ${ended?.code ?? ended?.signal}`);
      consumer = await startConsumer();
    };
    const handled = async () => (await taskEffects(db.pool, service)).length;
    const until = async (count: number, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while ((await handled()) < count) {
        if (Date.now() > deadline)
          throw new Error(`only ${await handled()} of ${count} orders handled (consumer restarts: ${exits.join('; ') || 'none'})`);
        await supervise();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };

    const orders = await insertOrders(db.pool, 3);
    await until(orders.length, 60_000);

    await stack.down();
    const outageStarted = Date.now();
    while (Date.now() - outageStarted < OUTAGE_MS) {
      orders.push(...(await insertOrders(db.pool, 2)));
      await supervise();
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
    await stack.up();
    orders.push(...(await insertOrders(db.pool, 3)));

    await until(orders.length, 120_000);
    process.stdout.write(
      `broker outage: ${orders.length} orders, consumer restarts by the test: ${exits.length === 0 ? 'none' : exits.join('; ')}, ` +
        `reader ${reader.exitCode === null ? 'kept running' : `exited with ${reader.exitCode}`}\n`,
    );
    expect(await taskEffects(db.pool, service)).toEqual([...orders].sort().map((title) => ({ title, n: '1' })));
    // The reader reconnects by itself; it never needed a supervisor.
    expect(reader.exitCode).toBeNull();
  }, 300_000);
});
