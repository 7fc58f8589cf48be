import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { outcomesOf } from '@pipeline/db';
import {
  createTestDatabase,
  freePort,
  sharedStack,
  startConsumerChild,
  type TestChild,
  type TestDatabase,
  taskEffects,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import { startReaderProcess } from '../services/cdc-reader/src/__tests__/process';
import { insertOrders, readyz } from './support';

/**
 * A consumer started before the cdc-reader has created its topics waits for them, says so on
 * /readyz and in its log, and then handles every change written before and after the reader
 * started, each once.
 */
describe('a consumer service started before its topics exist', () => {
  let db: TestDatabase;
  let consumer: TestChild | undefined;
  let reader: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('startup');
  });
  afterAll(async () => {
    for (const child of [consumer?.process, reader]) {
      if (!child || child.exitCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await db.drop();
  });

  it('reports 503 with the topic it waits for, then handles everything written before and after the reader created it', async () => {
    const service = uniqueName('test-startup');
    const prefix = uniqueName('test_startup');
    const schemaTopic = uniqueName('_pipeline.schemas.startup');
    consumer = await startConsumerChild(db.url, {
      SERVICE: service,
      CDC_TOPIC_PREFIX: prefix,
      SCHEMA_TOPIC: schemaTopic,
      LOG_LEVEL: 'info',
    });
    const port = Number(consumer.lines[0]?.split(' ')[1]);

    const waiting = await readyz(port, (body) => body.checks?.consumer !== undefined && body.checks.consumer !== 'starting');
    expect(waiting).toEqual({
      status: 503,
      body: { status: 'not ready', checks: { database: 'ok', kafka: 'ok', consumer: `waiting for topic ${prefix}.public.orders` } },
    });

    const before = await insertOrders(db.pool, 4);
    reader = await startReaderProcess(
      {
        DATABASE_URL: db.readerUrl,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_SLOT_NAME: uniqueName('slot_startup'),
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.startup'),
        LOG_LEVEL: testLogLevel('warn'),
      },
      await freePort(),
    );
    const after = await insertOrders(db.pool, 4);
    const orders = [...before, ...after];

    const deadline = Date.now() + 60_000;
    while ((await taskEffects(db.pool, service)).length < orders.length) {
      if (Date.now() > deadline) throw new Error(`only ${(await taskEffects(db.pool, service)).length} of ${orders.length} orders handled`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await taskEffects(db.pool, service)).toEqual([...orders].sort().map((title) => ({ title, n: '1' })));
    // Each change once: the rows written before the reader started arrive as its snapshot, the rest as inserts.
    const { rows } = await db.pool.query<{ event_id: string; outcomes: string }>(
      `SELECT event_id, string_agg(outcome || '@' || attempt, ',' ORDER BY id) AS outcomes
         FROM event_outcomes WHERE service = $1 GROUP BY event_id`,
      [service],
    );
    expect(rows).toHaveLength(orders.length);
    expect(rows.every((row) => row.outcomes === 'processed@1')).toBe(true);
    expect(rows.filter((row) => row.event_id.includes(':r:'))).toHaveLength(before.length);
    expect(await outcomesOf(db.pool, rows[0]?.event_id ?? '')).toHaveLength(1);

    expect((await readyz(port, (body) => body.status === 'ready')).status).toBe(200);
    // Said once while waiting (it repeats only every 30 s), and once when the topic appeared.
    const logged = consumer.lines.filter((line) => line.startsWith('{')).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(
      logged.filter((msg) => msg.startsWith(`waiting for topic ${prefix}.public.orders: nothing is consumed until it exists`)),
    ).toHaveLength(1);
    expect(logged.filter((msg) => msg === 'the source topics exist now: consuming')).toHaveLength(1);
  }, 120_000);
});
