import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  eventually,
  freePort,
  groupCaughtUp,
  inheritedEnv,
  SesFaultProxy,
  sharedStack,
  spawnNode,
  type TestChild,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { startReaderProcess } from '../../../cdc-reader/src/__tests__/process';

/** The compiled service (npm run build): what is deployed, and what can be SIGKILLed. */
export const PROCESSOR_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ProcessorChild extends TestChild {
  port: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** A test database, the real cdc-reader, an SES fault proxy in front of the shared SES endpoint, and order-processor processes. */
export interface OrderStack {
  db: TestDatabase;
  kafka: Kafka;
  topic: string;
  group: string;
  slot: string;
  storeDir: string;
  secret: string;
  proxy: SesFaultProxy;
  processors: ProcessorChild[];
  startProcessor(env?: Record<string, string>): Promise<ProcessorChild>;
  /** The compiled inventory-watcher on the same topics (its own consumer group). */
  startWatcher(): Promise<TestChild>;
  /** Waits until the reader has published everything committed so far and the processor's group has handled it. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function orderStack(name: string, options: { beforeReader?: (db: TestDatabase) => Promise<void> } = {}): Promise<OrderStack> {
  const db = await createTestDatabase(name);
  const kafka = testKafka(name);
  const prefix = uniqueName(`test_${name}`);
  const schemaTopic = uniqueName(`_pipeline.schemas.${name}`);
  const group = uniqueName(`test-${name}`);
  const slot = uniqueName(`slot_${name}`);
  const storeDir = mkdtempSync(join(tmpdir(), `invoices-${name}-`));
  const secret = randomUUID() + randomUUID();
  const proxy = await new SesFaultProxy(sharedStack().endpoints.sesEndpoint).start();
  await options.beforeReader?.(db);
  let reader: ChildProcess | undefined;
  const processors: ProcessorChild[] = [];
  const watchers: TestChild[] = [];
  const stack: OrderStack = {
    db,
    kafka,
    topic: `${prefix}.public.orders`,
    group,
    slot,
    storeDir,
    secret,
    proxy,
    processors,
    startProcessor: async (env = {}) => {
      const port = await freePort();
      const child = spawnNode([PROCESSOR_ENTRY], {
        PATH: inheritedEnv().PATH ?? '',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_TOPIC_PREFIX: prefix,
        SCHEMA_TOPIC: schemaTopic,
        CONSUMER_GROUP: group,
        HTTP_PORT: String(port),
        SES_ENDPOINT: proxy.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        INVOICE_STORE_DIR: storeDir,
        INVOICE_LINK_SECRET: secret,
        RETRY_DELAYS_MS: '1000,1000,1000',
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
        HANDLER_TIMEOUT_MS: '5000',
        SES_REQUEST_TIMEOUT_MS: '3000',
        SHUTDOWN_GRACE_MS: '1500',
        SHUTDOWN_TIMEOUT_MS: '8000',
        LOG_LEVEL: testLogLevel('warn'),
        ...env,
      });
      const processor: ProcessorChild = {
        ...child,
        port,
        stop: async () => {
          if (child.process.exitCode === null && child.process.signalCode === null) {
            child.process.kill('SIGTERM');
            await child.exited;
          }
        },
        kill: async () => {
          if (child.process.exitCode === null && child.process.signalCode === null) {
            child.process.kill('SIGKILL');
            await child.exited;
          }
        },
      };
      processors.push(processor);
      await eventually(
        `order-processor ready on ${port}`,
        async () => {
          if (child.process.exitCode !== null)
            throw new Error(`order-processor exited with ${child.process.exitCode}:\n${child.lines.join('\n')}`);
          try {
            return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
          } catch {
            return undefined;
          }
        },
        60_000,
      );
      return processor;
    },
    startWatcher: async () => {
      const port = await freePort();
      const child = spawnNode([join(__dirname, '..', '..', '..', 'inventory-watcher', 'dist', 'main.js')], {
        PATH: inheritedEnv().PATH ?? '',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_TOPIC_PREFIX: prefix,
        SCHEMA_TOPIC: schemaTopic,
        CONSUMER_GROUP: `${group}-watcher`,
        HTTP_PORT: String(port),
        LOG_LEVEL: testLogLevel('warn'),
      });
      watchers.push(child);
      return child;
    },
    settled: async () => {
      const { rows } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      // A change after everything so far: once the reader confirmed it, it has published all before it.
      await db.pool.query(`INSERT INTO customers (email, name) VALUES ($1, 'marker')`, [`marker-${randomUUID()}@example.com`]);
      await eventually('the reader to publish everything committed', async () => {
        const { rows: done } = await db.pool.query<{ done: boolean }>(
          'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
          [slot, rows[0]?.lsn],
        );
        return done[0]?.done ? true : undefined;
      });
      await groupCaughtUp(kafka, group, `${prefix}.public.orders`);
    },
    close: async () => {
      await Promise.all(processors.map((processor) => processor.stop()));
      for (const watcher of watchers) {
        if (watcher.process.exitCode === null) {
          watcher.process.kill('SIGTERM');
          await watcher.exited;
        }
      }
      if (reader && reader.exitCode === null) {
        reader.kill('SIGTERM');
        await once(reader, 'exit');
      }
      await proxy.stop();
      await db.drop();
    },
  };
  try {
    reader = await startReaderProcess(
      {
        DATABASE_URL: db.readerUrl,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_SLOT_NAME: slot,
        CDC_TOPIC_PREFIX: prefix,
        CDC_SCHEMA_TOPIC: schemaTopic,
        CDC_DLQ_TOPIC: uniqueName(`_pipeline.cdc.dlq.${name}`),
        LOG_LEVEL: testLogLevel('warn'),
      },
      await freePort(),
    );
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}

/** An email as the SES endpoint keeps it. */
export interface SesEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
  attachments: { content: string; contentType: string; filename?: string; size: number }[];
}

/** The emails SES accepted for `address`. */
export async function emailsTo(address: string): Promise<SesEmail[]> {
  const store = (await (await fetch(`${sharedStack().endpoints.sesEndpoint}/store`)).json()) as { emails: SesEmail[] };
  return store.emails.filter((email) => email.destination.to.some((to) => to.toLowerCase().includes(address.toLowerCase())));
}

export interface NewOrder {
  /** Default: one the database makes. */
  id?: string;
  customer: { name: string; email?: string };
  items: { name: string; quantity: number; price: string; inventoryId?: string }[];
  /** Default: the items' sum. */
  total?: string;
  currency?: string;
}

/** A customer and an order with its items, in one transaction (as the docs ask); returns the order id and the customer's address. */
export async function placeOrder(db: TestDatabase, order: NewOrder): Promise<{ orderId: string; email: string }> {
  const email = order.customer.email ?? `${uniqueName('customer')}@example.com`;
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows: customer } = await client.query<{ id: string }>('INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id', [
      email,
      order.customer.name,
    ]);
    const { rows: sum } = await client.query<{ total: string }>(
      'SELECT coalesce(sum(q * p), 0)::numeric(12, 2)::text AS total FROM unnest($1::int[], $2::numeric[]) AS t(q, p)',
      [order.items.map((item) => item.quantity), order.items.map((item) => item.price)],
    );
    const total = order.total ?? sum[0]?.total;
    const { rows: created } = await client.query<{ id: string }>(
      'INSERT INTO orders (id, customer_id, total, currency) VALUES (coalesce($4::uuid, gen_random_uuid()), $1, $2, $3) RETURNING id',
      [customer[0]?.id, total, order.currency ?? 'USD', order.id ?? null],
    );
    const orderId = created[0]?.id as string;
    for (const item of order.items) {
      await client.query('INSERT INTO order_items (order_id, inventory_id, name, quantity, price) VALUES ($1, $2, $3, $4, $5)', [
        orderId,
        item.inventoryId ?? null,
        item.name,
        item.quantity,
        item.price,
      ]);
    }
    await client.query('COMMIT');
    return { orderId, email };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export async function orderStatus(
  db: TestDatabase,
  orderId: string,
): Promise<{ status: string; invoice_url: string | null; confirmation_sent_at: Date | null }> {
  const { rows } = await db.pool.query('SELECT status, invoice_url, confirmation_sent_at FROM orders WHERE id = $1', [orderId]);
  return rows[0];
}
