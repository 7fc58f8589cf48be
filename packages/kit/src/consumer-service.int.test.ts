import { outcomesOf } from '@pipeline/db';
import { ensureSchemaTopic, ensureTopics, FAILURE_HEADERS, headersAsText, readTopicToEnd, SchemaPublisher } from '@pipeline/kafka';
import { makeLogger, parseConfig } from '@pipeline/runtime';
import {
  buildEnvelopeSchema,
  type Change,
  encodeSingleObject,
  envelopeSchema,
  type InventoryRow,
  type OrdersRow,
  parseSchema,
  readRowSchema,
} from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import {
  changeMessage,
  createTestDatabase,
  orderCreated,
  sharedStack,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { type ConsumerServiceConfig, consumerServiceEnvSchema } from './config';
import { type StartedConsumerService, startConsumerService } from './consumer-service';
import type { ChangeHandlers } from './handlers';

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

// Type checks, no run time: each handler is typed with its own table's row.
export const typedHandlers: ChangeHandlers<ConsumerServiceConfig> = {
  'public.inventory': async (change) => {
    if (change.op === 'c') {
      const quantity: number = change.after.quantity;
      // @ts-expect-error an insert has no before row
      change.before.quantity;
      return quantity > 0 ? 'processed' : 'skipped';
    }
  },
  // @ts-expect-error an orders handler cannot be written for inventory rows
  'public.orders': async (change: Change<InventoryRow>) => (change.after?.quantity ? 'processed' : 'skipped'),
};

describe('startConsumerService: typed handlers per table', () => {
  let kafka: Kafka;
  let db: TestDatabase;
  let started: StartedConsumerService;
  let prefix: string;
  let schemaTopic: string;
  const service = uniqueName('test-consumer-svc');
  const registry = new Registry();
  const fatal = jest.fn();
  /** What each handler saw, typed from its own table's row. */
  const seen: string[] = [];

  beforeAll(async () => {
    kafka = testKafka('consumer-service');
    db = await createTestDatabase('csvc');
    prefix = uniqueName('test_csvc');
    schemaTopic = uniqueName('test.csvc.schemas');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [
      { topic: `${prefix}.public.orders`, numPartitions: 3, replicationFactor: 1 },
      { topic: `${prefix}.public.inventory`, numPartitions: 1, replicationFactor: 1 },
    ]);
    await ensureSchemaTopic(admin, schemaTopic);
    await admin.disconnect();
    const config = parseConfig(service, consumerServiceEnvSchema({ httpPort: 9199 }), {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      CDC_TOPIC_PREFIX: prefix,
      RETRY_DELAYS_MS: '1500,1500,1500',
      SCHEMA_TOPIC: schemaTopic,
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      HANDLER_TIMEOUT_MS: '3000',
      KAFKA_TOPIC_RETENTION_MS: '604800000',
    });
    const insertTask = async (title: string, ctx: Parameters<NonNullable<ChangeHandlers<typeof config>['public.orders']>>[1]) =>
      (
        await ctx.processOnce(async (client) => {
          await client.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, title]);
        })
      ).status;
    started = await startConsumerService(
      { config, logger: makeLogger({ service, level: testLogLevel('silent') }), registry, fatal },
      {
        service,
        handlers: {
          'public.orders': async (change, ctx) => {
            if (change.op !== 'c') return 'skipped';
            const total: string = change.after.total;
            seen.push(`order ${change.after.id} total ${total} ${typeof total}`);
            return insertTask(ctx.eventId, ctx);
          },
          'public.inventory': async (change, ctx) => {
            if (change.op === 'd' || change.op === 't') return 'skipped';
            const quantity: number = change.after.quantity;
            seen.push(`inventory ${change.after.sku} quantity ${quantity} ${typeof quantity}`);
            return insertTask(ctx.eventId, ctx);
          },
        },
      },
    );
    expect(started.runner?.group).toBe(service);
  }, 60_000);

  afterAll(async () => {
    await started?.stop();
    await db.drop();
  });

  it('subscribes to exactly the tables it has handlers for, under CDC_TOPIC_PREFIX', async () => {
    // The consumer group's subscriptions, as the broker knows them once it consumes.
    const deadline = Date.now() + 30_000;
    while (started.runner?.notReadyReason !== undefined) {
      if (Date.now() > deadline) throw new Error(`never ready: ${started.runner?.notReadyReason}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([service]);
      const assigned = (groups[0]?.members ?? []).flatMap((member) => {
        // Consumer protocol assignment: version (2), topic count (4), then per topic a name (2 + n) and partitions.
        const buffer = member.memberAssignment;
        const topics: string[] = [];
        let at = 2;
        const count = buffer.readInt32BE(at);
        at += 4;
        for (let i = 0; i < count; i++) {
          const length = buffer.readInt16BE(at);
          topics.push(buffer.subarray(at + 2, at + 2 + length).toString());
          at += 2 + length;
          at += 4 + 4 * buffer.readInt32BE(at);
        }
        return topics;
      });
      expect([...new Set(assigned)].sort()).toEqual([`${prefix}.public.inventory`, `${prefix}.public.orders`]);
    } finally {
      await admin.disconnect();
    }
  });

  it('hands each table its own rows, skips a duplicate, dead-letters garbage, an invalid envelope and a table without a handler, retries an unknown schema until it is published', async () => {
    const orders = `${prefix}.public.orders`;
    const invalid = { ...edgeEnvelope<OrdersRow>('public.orders', 'c', null, null), eventId: 'csvc-invalid' };
    const newer = {
      ...edgeEnvelope('public.orders', 'c', null, { ...firstEdgeRow('public.orders'), priority: 7 }),
      eventId: 'csvc-evolved',
    };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: orders,
      messages: [
        orderCreated('csvc-ok', 1).message,
        orderCreated('csvc-ok', 1).message,
        { key: 'g', value: Buffer.from('{"id": 1, "status": "pending"}'), headers: { 'event-id': 'csvc-garbage' } },
        { key: 'i', value: encodeSingleObject(envelopeSchema('public.orders'), invalid), headers: { 'event-id': 'csvc-invalid' } },
        { key: 'e', value: encodeSingleObject(evolved, newer), headers: { 'event-id': 'csvc-evolved' } },
        // A customers change where only orders belong, then an order after it on the same partition.
        { ...changeMessage('public.customers', 'csvc-customer', 'c', firstEdgeRow('public.customers')).message, partition: 0 },
        { ...orderCreated('csvc-after', 2).message, partition: 0 },
      ],
    });
    await producer.send({
      topic: `${prefix}.public.inventory`,
      messages: [changeMessage('public.inventory', 'csvc-stock', 'c', firstEdgeRow('public.inventory')).message],
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
    while (!(await outcomesOf(db.pool, 'csvc-stock')).some((o) => o.outcome === 'processed')) {
      if (Date.now() > deadline) throw new Error('the inventory change was never processed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.disconnect();

    const trail = async (id: string) => (await outcomesOf(db.pool, id)).map((o) => `${o.outcome}@${o.attempt}`);
    expect(await trail('csvc-ok')).toEqual(['processed@1', 'skipped@1']);
    expect(await trail('csvc-garbage')).toEqual(['dead_lettered@1']);
    expect(await trail('csvc-invalid')).toEqual(['dead_lettered@1']);
    expect(await trail('csvc-customer')).toEqual(['dead_lettered@1']);
    expect(await trail('csvc-after')).toEqual(['processed@1']);
    expect(await trail('csvc-stock')).toEqual(['processed@1']);
    const evolvedTrail = await trail('csvc-evolved');
    expect(evolvedTrail[0]).toBe('retried@1');
    expect(evolvedTrail.at(-1)).toMatch(/^processed@[2-4]$/);
    expect(evolvedTrail.filter((t) => t.startsWith('dead_lettered'))).toEqual([]);

    const errorOf = async (id: string) => (await outcomesOf(db.pool, id))[0]?.error;
    expect(await errorOf('csvc-invalid')).toContain(
      'INVALID_ENVELOPE: invalid change envelope on public.orders (event csvc-invalid): op c without after',
    );
    expect(await errorOf('csvc-garbage')).toContain('not the Avro single-object marker c3 01 (it looks like JSON)');
    expect(await errorOf('csvc-customer')).toBe(
      `NO_HANDLER: ${service} has no handler for table public.customers (event csvc-customer, read from ${orders}); ` +
        `it handles public.inventory, public.orders. Check what writes to ${orders}, or add a handler for the table; then redrive the letter.`,
    );

    // What tracing needs, on every outcome: the table (for a retry copy and for bytes that never
    // decoded too), the row's key, and the commit time once the change decoded.
    const traced = async (id: string) =>
      (await outcomesOf(db.pool, id)).map((o) => [o.outcome, o.subject, o.rowKey, o.committedAt?.toISOString()]);
    const committed = '2026-11-29T17:35:04.123Z';
    const firstOrder = '00000000-0000-4000-8000-000000000001';
    expect(await traced('csvc-ok')).toEqual([
      ['processed', 'public.orders', firstOrder, committed],
      ['skipped', 'public.orders', firstOrder, committed],
    ]);
    expect(await traced('csvc-garbage')).toEqual([['dead_lettered', 'public.orders', 'g', undefined]]);
    const evolvedTraced = await traced('csvc-evolved');
    expect(evolvedTraced[0]).toEqual(['retried', 'public.orders', 'e', undefined]);
    expect(evolvedTraced.at(-1)).toEqual(['processed', 'public.orders', 'e', committed]);
    expect(await traced('csvc-stock')).toEqual([['processed', 'public.inventory', firstEdgeRow('public.inventory').id, committed]]);

    const dead: Record<string, string>[] = [];
    await readTopicToEnd(kafka, `${service}.dlq`, { onMessage: (message) => dead.push(headersAsText(message.headers)) });
    expect(dead.map((headers) => headers['event-id']).sort()).toEqual(['csvc-customer', 'csvc-garbage', 'csvc-invalid']);
    for (const headers of dead) {
      expect(headers[FAILURE_HEADERS.originalTopic]).toBe(orders);
      expect(headers[FAILURE_HEADERS.attempt]).toBe('1');
      expect(headers[FAILURE_HEADERS.consumerGroup]).toBe(service);
    }

    const tasks = await db.pool.query<{ title: string }>('SELECT title FROM tasks WHERE type = $1 ORDER BY title', [service]);
    expect(tasks.rows.map((r) => r.title)).toEqual(['csvc-after', 'csvc-evolved', 'csvc-ok', 'csvc-stock']);
    // Each handler got its own table's row type: decimals as exact text, integers as numbers.
    expect(seen).toContain(`order 00000000-0000-4000-8000-000000000001 total ${firstEdgeRow('public.orders').total} string`);
    expect(seen).toContain(
      `inventory ${firstEdgeRow('public.inventory').sku} quantity ${firstEdgeRow('public.inventory').quantity} number`,
    );

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/consumer_events_total\{outcome="skipped"\} 1/);
    expect(metrics).toMatch(/consumer_events_total\{outcome="dead_lettered"\} 3/);
    // End to end: from the change's commit time (the fixture's) to handled.
    expect(metrics).toMatch(/consumer_event_age_seconds_count 5/);
    expect(metrics).toMatch(
      new RegExp(`consumer_last_progress_timestamp_seconds\\{topic="${prefix}.public.inventory",partition="0"\\} \\d+`),
    );
    expect(fatal).not.toHaveBeenCalled();
  }, 90_000);

  it('creates its retry and dead-letter topics with the configured retention', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = [...(started.runner?.retryTopics ?? []), `${service}.dlq`];
      expect(topics).toHaveLength(4);
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
