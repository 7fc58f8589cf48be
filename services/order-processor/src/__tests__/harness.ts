import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  freePort,
  groupCaughtUp,
  inheritedEnv,
  SesFaultProxy,
  sharedStack,
  spawnNode,
  startServiceChild,
  type TestChild,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { startTestReader, type TestReader } from '../../../cdc-reader/src/__tests__/process';

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
  /** The cdc-reader streaming `db` (its topics, slot, dead-letter topic). */
  reader: TestReader;
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
  const group = uniqueName(`test-${name}`);
  const storeDir = mkdtempSync(join(tmpdir(), `invoices-${name}-`));
  const secret = randomUUID() + randomUUID();
  const proxy = await new SesFaultProxy(sharedStack().endpoints.sesEndpoint).start();
  await options.beforeReader?.(db);
  let reader: TestReader;
  try {
    reader = await startTestReader(db, name);
  } catch (error) {
    await proxy.stop();
    await db.drop();
    throw error;
  }
  const { prefix, schemaTopic, slot } = reader;
  const processors: ProcessorChild[] = [];
  const watchers: TestChild[] = [];
  const stack: OrderStack = {
    db,
    reader,
    kafka,
    topic: `${prefix}.public.orders`,
    group,
    slot,
    storeDir,
    secret,
    proxy,
    processors,
    startProcessor: async (env = {}) => {
      const child = await startServiceChild(PROCESSOR_ENTRY, {
        DATABASE_URL: db.url,
        CDC_TOPIC_PREFIX: prefix,
        SCHEMA_TOPIC: schemaTopic,
        CONSUMER_GROUP: group,
        SES_ENDPOINT: proxy.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        INVOICE_STORE_DIR: storeDir,
        INVOICE_LINK_SECRET: secret,
        SES_REQUEST_TIMEOUT_MS: '3000',
        ...env,
      });
      const processor: ProcessorChild = {
        ...child,
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
      await reader.published(db);
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
      await reader.stop();
      await proxy.stop();
      await db.drop();
    },
  };
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
