import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTopics } from '@pipeline/kafka';
import type { OpportunitiesRow, OrdersRow, RowTypes, Subject } from '@pipeline/schemas';
import { listSubjects } from '@pipeline/schemas';
import { firstEdgeRow } from '@pipeline/schemas/fixtures';
import {
  changeMessage,
  createTestDatabase,
  eventually,
  sharedStack,
  startServiceChild,
  type TestChild,
  type TestDatabase,
  testKafka,
  uniqueName,
} from '@pipeline/testing';
import { addSubscription, SecretBox } from '@pipeline/webhooks';
import type { Kafka } from 'kafkajs';
import { emailsTo } from '../services/order-processor/src/__tests__/harness';
import { Receiver } from '../services/webhook-dispatcher/src/__tests__/receiver';

const entry = (service: string) => join(__dirname, '..', 'services', service, 'dist', 'main.js');
const PLACEHOLDER = '__unavailable__';

/**
 * Every consumer service handed changes whose columns it uses hold placeholders (listed in
 * `unavailable`: PostgreSQL did not send them, or the reader left them out of a change too large
 * for its topic), written to topics of the test's own as the reader writes them: none stores or
 * sends a placeholder. The order-processor and the inventory-watcher judge by the current row, the
 * metrics-projector keeps its stored value (or dead-letters the change when it has none), the
 * webhook-dispatcher leaves the columns out of the body.
 */
describe('consumers never store or act on a placeholder', () => {
  let db: TestDatabase;
  let kafka: Kafka;
  const prefix = uniqueName('test_unavailable');
  const schemaTopic = uniqueName('_pipeline.schemas.unavailable');
  const children: TestChild[] = [];
  const receiver = new Receiver();
  const key = randomBytes(32).toString('base64');
  let lsn = 0x100;
  /** An event id the projector can order by, increasing. */
  const nextEventId = () => `7000000000000000001:0/${(lsn++).toString(16).toUpperCase()}:0`;

  const send = async <S extends Subject>(subject: S, ...messages: ReturnType<typeof changeMessage<S>>['message'][]) => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${prefix}.${subject}`, messages });
    await producer.disconnect();
  };
  const start = async (service: string, env: Record<string, string> = {}) => {
    const child = await startServiceChild(entry(service), {
      DATABASE_URL: db.url,
      CDC_TOPIC_PREFIX: prefix,
      SCHEMA_TOPIC: schemaTopic,
      CONSUMER_GROUP: uniqueName(`test-${service}`),
      ...env,
    });
    children.push(child);
    return child;
  };
  const outcomes = async (service: string) =>
    (
      await db.pool.query<{ event_id: string; outcome: string; error: string | null }>(
        'SELECT event_id, outcome, error FROM event_outcomes WHERE service = $1 ORDER BY recorded_at',
        [service],
      )
    ).rows;
  const handled = (service: string, eventId: string) =>
    eventually(`${service} handled ${eventId}`, async () => (await outcomes(service)).find((o) => o.event_id === eventId), 60_000);

  beforeAll(async () => {
    db = await createTestDatabase('unavailable');
    kafka = testKafka('unavailable');
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      listSubjects().map((s) => ({ topic: `${prefix}.${s}`, numPartitions: 1, replicationFactor: 1 })),
    );
    await admin.disconnect();
    await receiver.start();
    await addSubscription(
      db.pool,
      new SecretBox(key),
      { name: 'unavailable', url: receiver.url, tables: ['public.inventory'], operations: [], changedColumns: [] },
      { allowPrivate: true },
    );
    // allSettled: a service that fails to start must not leave the others starting unseen by afterAll.
    const started = await Promise.allSettled([
      start('order-processor', {
        SES_ENDPOINT: sharedStack().endpoints.sesEndpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        INVOICE_STORE_DIR: mkdtempSync(join(tmpdir(), 'invoices-unavailable-')),
        INVOICE_LINK_SECRET: randomUUID() + randomUUID(),
        SES_REQUEST_TIMEOUT_MS: '3000',
      }),
      start('inventory-watcher'),
      start('metrics-projector'),
      start('webhook-dispatcher', { WEBHOOK_SECRETS_KEY: key, WEBHOOK_POLL_MS: '50' }),
    ]);
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  }, 180_000);

  afterAll(async () => {
    for (const child of children) {
      if (child.process.exitCode === null) {
        child.process.kill('SIGTERM');
        await child.exited;
      }
    }
    await receiver.stop();
    await db?.drop();
  }, 60_000);

  /** A customer and an order in `status`, written straight to the database (no reader runs here). */
  const order = async (status: string): Promise<{ row: OrdersRow; email: string }> => {
    const email = `${uniqueName('unavailable')}@example.com`;
    const { rows: customer } = await db.pool.query<{ id: string }>('INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id', [
      email,
      'Ada',
    ]);
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO orders (customer_id, total, status) VALUES ($1, 12.50, $2) RETURNING id`,
      [customer[0]?.id, status],
    );
    const id = rows[0]?.id as string;
    await db.pool.query(`INSERT INTO order_items (order_id, name, quantity, price) VALUES ($1, 'Mug', 1, 12.50)`, [id]);
    return { row: { ...firstEdgeRow('public.orders'), id, customer_id: customer[0]?.id as string, status: PLACEHOLDER }, email };
  };

  it('order-processor: a status it cannot read is judged by the order as it is now', async () => {
    const pending = await order('pending');
    const shipped = await order('shipped');
    const unavailable = ['before.status', 'after.status'];
    const ids = [nextEventId(), nextEventId()];
    await send(
      'public.orders',
      changeMessage('public.orders', ids[0] as string, 'u', pending.row, { unavailable }).message,
      changeMessage('public.orders', ids[1] as string, 'u', shipped.row, { unavailable }).message,
    );
    for (const id of ids) expect((await handled('order-processor', id as string)).outcome).toBe('processed');
    const { rows } = await db.pool.query<{ id: string; status: string }>('SELECT id, status FROM orders WHERE id = ANY($1::uuid[])', [
      [pending.row.id, shipped.row.id],
    ]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [pending.row.id]: 'confirmed', [shipped.row.id]: 'shipped' });
    const confirmation = await eventually('the confirmation', async () => (await emailsTo(pending.email))[0], 30_000);
    const shippedMail = await eventually('the shipping email', async () => (await emailsTo(shipped.email))[0], 30_000);
    for (const mail of [confirmation, shippedMail]) expect(JSON.stringify(mail)).not.toContain(PLACEHOLDER);
    expect(await emailsTo(pending.email)).toHaveLength(1);
    expect(await emailsTo(shipped.email)).toHaveLength(1);
  }, 90_000);

  it('inventory-watcher: stock it cannot read is judged by the current row; webhook-dispatcher leaves such columns out', async () => {
    const sku = uniqueName('sku');
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold) VALUES ($1, 'Kettle', 2, 10) RETURNING id`,
      [sku],
    );
    const id = rows[0]?.id as string;
    const before = { ...firstEdgeRow('public.inventory'), id, sku, product_name: 'Kettle', quantity: 20, reorder_threshold: 10 };
    const after = { ...before, quantity: 0, attributes: PLACEHOLDER };
    const eventId = nextEventId();
    await send(
      'public.inventory',
      changeMessage('public.inventory', eventId, 'u', after, { before, unavailable: ['after.quantity', 'after.attributes'] }).message,
    );
    expect((await handled('inventory-watcher', eventId)).outcome).toBe('processed');
    const { rows: tasks } = await db.pool.query<{ title: string; description: string; metadata: unknown }>(
      `SELECT title, description, metadata FROM tasks WHERE metadata->>'inventory_id' = $1`,
      [id],
    );
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.description).toContain('has 2 in stock');
    expect(JSON.stringify(tasks)).not.toContain(PLACEHOLDER);

    const delivered = await eventually(
      'the webhook of the change',
      async () => receiver.delivered().find((d) => d.body.event_id === eventId),
      30_000,
    );
    const record = delivered.body.record as Record<string, unknown>;
    expect(record).not.toHaveProperty('quantity');
    expect(record).not.toHaveProperty('attributes');
    expect(record.sku).toBe(sku);
    expect(JSON.stringify(delivered.body)).not.toContain(PLACEHOLDER);
  }, 90_000);

  it('metrics-projector: keeps the stored owner and value, and dead-letters a change it has nothing to keep for', async () => {
    const opportunity = (stage: string, value: string, owner: string | null): OpportunitiesRow => ({
      ...firstEdgeRow('public.opportunities'),
      id: randomUUID(),
      stage,
      value,
      owner,
    });
    const owner = uniqueName('owner');
    const known = opportunity('negotiation', '500.00', owner);
    const unknown = opportunity('prospecting', '10.00', null);
    const ids = [nextEventId(), nextEventId(), nextEventId()] as string[];
    await send(
      'public.opportunities',
      changeMessage('public.opportunities', ids[0] as string, 'c', known).message,
      changeMessage(
        'public.opportunities',
        ids[1] as string,
        'u',
        { ...known, stage: 'closed_won', value: '0.00', owner: null } as RowTypes['public.opportunities'],
        {
          before: known,
          unavailable: ['after.owner', 'after.value'],
        },
      ).message,
      changeMessage('public.opportunities', ids[2] as string, 'c', unknown, { unavailable: ['after.owner'] }).message,
    );
    const dead = await handled('metrics-projector', ids[2] as string);
    expect(dead.outcome).toBe('dead_lettered');
    expect(dead.error).toContain('COLUMN_UNAVAILABLE');
    const { rows } = await db.pool.query<{ owner: string | null; deals_won: number; revenue_closed: string }>(
      'SELECT owner, deals_won, revenue_closed::text FROM sales_metrics',
    );
    expect(rows).toEqual([{ owner, deals_won: 1, revenue_closed: '500.00' }]);
  }, 90_000);
});
