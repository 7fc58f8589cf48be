import type { StartedConsumerService } from '@pipeline/kit';
import { makeLogger } from '@pipeline/runtime';
import {
  createTestDatabase,
  eventually,
  groupCaughtUp,
  ManualClock,
  sharedStack,
  type TestDatabase,
  testKafka,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { startTestReader, type TestReader } from '../../../cdc-reader/src/__tests__/process';
import { type Config, loadConfig } from '../config';
import { start } from '../service';

/** A test database, the real cdc-reader streaming it into topics of their own, and replicas of the watcher in this process. */
export interface WatcherStack {
  db: TestDatabase;
  kafka: Kafka;
  /** The cdc topic of public.inventory. */
  topic: string;
  group: string;
  config: Config;
  /** The replicas' scheduler clock (real time elsewhere). */
  clock: ManualClock;
  replicas: { service: StartedConsumerService; registry: Registry; fatal: jest.Mock }[];
  startReplica(): Promise<StartedConsumerService>;
  stopReplicas(): Promise<void>;
  /** How many records the inventory topic should hold: the snapshot's rows, then one per change the helpers below made. */
  expected: number;
  /**
   * Waits until the reader has written every expected record to the inventory topic and the
   * watcher's group has handled them all.
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export interface WatcherStackOptions {
  replicas?: number;
  /** The scheduler clock's start. Default 2027-01-11T07:00:00Z (a Monday, an hour before the daily check). */
  clockStart?: string;
  /** Runs on the migrated database before the reader starts: what it writes arrives as the snapshot. */
  beforeReader?: (db: TestDatabase) => Promise<void>;
  env?: Record<string, string>;
}

export async function watcherStack(name: string, options: WatcherStackOptions = {}): Promise<WatcherStack> {
  const db = await createTestDatabase(name);
  const kafka = testKafka(name);
  const group = uniqueName(`test-${name}`);
  await options.beforeReader?.(db);
  const { rows: snapshotRows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM inventory');
  let reader: TestReader;
  try {
    reader = await startTestReader(db, name);
  } catch (error) {
    await db.drop();
    throw error;
  }
  const { prefix, schemaTopic } = reader;
  const replicas: WatcherStack['replicas'] = [];
  const clock = new ManualClock(Date.parse(options.clockStart ?? '2027-01-11T07:00:00Z'));
  const config = loadConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
    CDC_TOPIC_PREFIX: prefix,
    SCHEMA_TOPIC: schemaTopic,
    CONSUMER_GROUP: group,
    RETRY_DELAYS_MS: '1000,1000',
    CONSUMER_SESSION_TIMEOUT_MS: '10000',
    HANDLER_TIMEOUT_MS: '8000',
    ...options.env,
  });
  const stack: WatcherStack = {
    db,
    kafka,
    topic: `${prefix}.public.inventory`,
    group,
    config,
    clock,
    replicas,
    startReplica: async () => {
      const registry = new Registry();
      const fatal = jest.fn();
      const logger = makeLogger({ service: `inventory-watcher#${replicas.length + 1}`, level: testLogLevel('silent') });
      const service = await start({ config, logger, registry, fatal }, { clock });
      replicas.push({ service, registry, fatal });
      return service;
    },
    stopReplicas: async () => {
      await Promise.all(replicas.splice(0).map(({ service }) => service.stop()));
    },
    expected: Number(snapshotRows[0]?.n ?? 0),
    settled: async () => {
      const topic = `${prefix}.public.inventory`;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await eventually(`${stack.expected} records in ${topic}`, async () => {
          const offsets = await admin.fetchTopicOffsets(topic);
          // Less the initial snapshot's end, one record per partition.
          const written = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0) - offsets.length;
          if (written > stack.expected) throw new Error(`${topic} holds ${written} records, more than the ${stack.expected} the test made`);
          return written === stack.expected ? true : undefined;
        });
      } finally {
        await admin.disconnect();
      }
      await groupCaughtUp(kafka, group, topic);
    },
    close: async () => {
      await stack.stopReplicas();
      await reader.stop();
      await db.drop();
    },
  };
  try {
    for (let i = 0; i < (options.replicas ?? 1); i++) await stack.startReplica();
  } catch (error) {
    await stack.close();
    throw error;
  }
  return stack;
}

/** A reorder task as the tests look at it. */
export interface TaskRow {
  id: string;
  title: string;
  description: string;
  priority: string;
  status: string;
  metadata: Record<string, unknown>;
}

export async function reorderTasks(db: TestDatabase, inventoryId: string): Promise<TaskRow[]> {
  const { rows } = await db.pool.query<TaskRow>(
    `SELECT id, title, description, priority, status, metadata FROM tasks
      WHERE type = 'inventory_reorder' AND metadata->>'inventory_id' = $1 ORDER BY created_at, id`,
    [inventoryId],
  );
  return rows;
}

export interface NotificationRow {
  type: string;
  title: string;
  message: string;
  action_url: string;
  target_role: string;
  priority: string;
}

/** The notifications that link to the item's tasks, oldest first. */
export async function notificationsOf(db: TestDatabase, inventoryId: string): Promise<NotificationRow[]> {
  const { rows } = await db.pool.query<NotificationRow>(
    `SELECT n.type, n.title, n.message, n.action_url, n.target_role, n.priority
       FROM notifications n JOIN tasks t ON n.action_url = '/tasks/' || t.id
      WHERE t.metadata->>'inventory_id' = $1 ORDER BY n.created_at, n.id`,
    [inventoryId],
  );
  return rows;
}

/** Inserts a supplier (or none) and an item; returns the item's id. With a stack, counts the change it makes. */
export async function insertItem(
  target: TestDatabase | WatcherStack,
  item: { name: string; quantity: number; threshold: number; supplier?: { name: string; defaultOrderQuantity: number } },
): Promise<string> {
  const db = 'db' in target ? target.db : target;
  let supplierId: string | null = null;
  if (item.supplier) {
    const { rows } = await db.pool.query<{ id: string }>(
      'INSERT INTO suppliers (name, default_order_quantity) VALUES ($1, $2) RETURNING id',
      [item.supplier.name, item.supplier.defaultOrderQuantity],
    );
    supplierId = rows[0]?.id ?? null;
  }
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold, supplier_id)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [uniqueName('SKU'), item.name, item.quantity, item.threshold, supplierId],
  );
  const id = rows[0]?.id;
  if (!id) throw new Error('the item was not inserted');
  if ('db' in target) target.expected += 1;
  return id;
}

export async function setQuantity(stack: WatcherStack, inventoryId: string, quantity: number): Promise<void> {
  await stack.db.pool.query('UPDATE inventory SET quantity = $2, updated_at = now() WHERE id = $1', [inventoryId, quantity]);
  stack.expected += 1;
}

export async function deleteItem(stack: WatcherStack, inventoryId: string): Promise<void> {
  await stack.db.pool.query('DELETE FROM inventory WHERE id = $1', [inventoryId]);
  stack.expected += 1;
}
