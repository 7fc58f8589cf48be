import { Writable } from 'node:stream';
import { outcomesOf } from '@pipeline/db';
import { ensureTopics } from '@pipeline/kafka';
import { makeLogger, parseConfig } from '@pipeline/runtime';
import { createTestDatabase, orderCreated, sharedStack, type TestDatabase, testKafka, uniqueName } from '@pipeline/testing';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { consumerServiceEnvSchema } from './config';
import { type StartedConsumerService, startConsumerService } from './consumer-service';

/** What a handler gets: a logger that says which event, the config, and a deadline its database work honours. */
describe('the handler context', () => {
  let db: TestDatabase;
  let started: StartedConsumerService;
  const service = uniqueName('test-context');
  const prefix = uniqueName('test_ctx');
  const logLines: Record<string, unknown>[] = [];
  const configSeen: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('ctx');
    const kafka = testKafka('handler-context');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: `${prefix}.public.orders`, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const schema = consumerServiceEnvSchema({ httpPort: 9199 }).extend({ GREETING: z.string() });
    const config = parseConfig(service, schema, {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      CDC_TOPIC_PREFIX: prefix,
      RETRY_DELAYS_MS: '500',
      HANDLER_TIMEOUT_MS: '1000',
      CONSUMER_SESSION_TIMEOUT_MS: '6000',
      SCHEMA_TOPIC: uniqueName('test.ctx.schemas'),
      GREETING: 'hello from the config',
    });
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, unknown>);
        callback();
      },
    });
    started = await startConsumerService(
      { config, logger: makeLogger({ service, level: 'info', destination }), registry: new Registry(), fatal: jest.fn() },
      {
        service,
        handlers: {
          'public.orders': async (change, ctx) => {
            configSeen.push(ctx.config.GREETING);
            ctx.logger.info({ orderId: change.after?.id }, 'handling an order');
            const done = await ctx.processOnce(async (client) => {
              await client.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, `marker:${ctx.attempt}`]);
              if (ctx.attempt === 1) {
                // Still at work when the deadline fires; returns only after it did.
                await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
                await new Promise((resolve) => setTimeout(resolve, 200));
              }
            });
            return done.status;
          },
        },
      },
    );
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${prefix}.public.orders`, messages: [orderCreated('ctx-late', 1).message] });
    await producer.disconnect();
  }, 60_000);

  afterAll(async () => {
    await started?.stop();
    await db.drop();
  });

  it('rolls back work that ended past its deadline; the retry handles the event once', async () => {
    const deadline = Date.now() + 30_000;
    while (!(await outcomesOf(db.pool, 'ctx-late')).some((o) => o.outcome === 'processed')) {
      if (Date.now() > deadline) throw new Error('the retry never handled the event');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Give the first attempt's transaction every chance to commit, had it been able to.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const trail = await outcomesOf(db.pool, 'ctx-late');
    expect(trail.map((o) => `${o.outcome}@${o.attempt}`)).toEqual(['retried@1', 'processed@2']);
    expect(trail[0]?.error).toBe('DEADLINE_EXCEEDED: handler did not finish within 1000 ms');
    const { rows: markers } = await db.pool.query<{ title: string }>('SELECT title FROM tasks WHERE type = $1', [service]);
    expect(markers.map((r) => r.title)).toEqual(['marker:2']);
    const { rows: processed } = await db.pool.query<{ consumer: string }>(
      `SELECT consumer FROM processed_events WHERE event_id = 'ctx-late'`,
    );
    expect(processed).toEqual([{ consumer: service }]);
  });

  it('gives the handler its config and a logger that names the event', () => {
    expect(configSeen).toEqual(['hello from the config', 'hello from the config']);
    const lines = logLines.filter((line) => line.msg === 'handling an order');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      service,
      eventId: 'ctx-late',
      topic: `${prefix}.public.orders`,
      partition: 0,
      offset: '0',
      attempt: 1,
      orderId: '00000000-0000-4000-8000-000000000001',
    });
    expect(lines[1]).toMatchObject({ eventId: 'ctx-late', topic: `${service}.retry.1`, attempt: 2 });
  });
});
