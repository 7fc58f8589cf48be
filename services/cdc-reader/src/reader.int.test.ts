import { CAPTURED_TABLES } from '@pipeline/schemas';
import { consume, type ReaderFixture, type Received, readerFixture, startReader, waitStreaming } from './__tests__/harness';
import type { CdcReader } from './reader';

const ids = {
  customer: 'c0000000-0000-4000-8000-000000000001',
  customer2: 'c0000000-0000-4000-8000-000000000002',
  supplier: '50000000-0000-4000-8000-000000000001',
  inventory: '10000000-0000-4000-8000-000000000001',
  order: '00000000-0000-4000-8000-0000000000a1',
  orderMoved: '00000000-0000-4000-8000-0000000000a2',
  item: '17000000-0000-4000-8000-000000000001',
  opportunity: '0b000000-0000-4000-8000-000000000001',
};

describe('cdc-reader: every kind of change of every captured table', () => {
  let fixture: ReaderFixture;
  let reader: CdcReader;
  let received: Received[];

  beforeAll(async () => {
    fixture = await readerFixture('changes');
    ({ reader } = startReader(fixture));
    await waitStreaming(reader);
    const q = (sql: string, params: unknown[] = []) => fixture.db.pool.query(sql, params);
    // Inserts, in one transaction.
    await q('BEGIN');
    await q(`INSERT INTO customers (id, email, name) VALUES ($1, 'ada@example.com', 'Ada'), ($2, 'bob@example.com', 'Bob')`, [
      ids.customer,
      ids.customer2,
    ]);
    await q(`INSERT INTO suppliers (id, name, default_order_quantity) VALUES ($1, 'Acme', 50)`, [ids.supplier]);
    await q(
      `INSERT INTO inventory (id, sku, product_name, quantity, reorder_threshold, supplier_id) VALUES ($1, 'SKU-1', 'Widget', 100, 10, $2)`,
      [ids.inventory, ids.supplier],
    );
    await q(`INSERT INTO orders (id, customer_id, total) VALUES ($1, $2, 25.50)`, [ids.order, ids.customer]);
    await q(`INSERT INTO order_items (id, order_id, inventory_id, name, quantity, price) VALUES ($1, $2, $3, 'Widget', 2, 12.75)`, [
      ids.item,
      ids.order,
      ids.inventory,
    ]);
    await q(`INSERT INTO opportunities (id, name, stage, value) VALUES ($1, 'Big deal', 'prospecting', 1000.00)`, [ids.opportunity]);
    await q('COMMIT');
    // Updates, each its own transaction; the last changes a primary key.
    await q(`UPDATE customers SET name = 'Ada L.' WHERE id = $1`, [ids.customer]);
    await q(`UPDATE suppliers SET default_order_quantity = 60 WHERE id = $1`, [ids.supplier]);
    await q(`UPDATE inventory SET quantity = 5 WHERE id = $1`, [ids.inventory]);
    await q(`UPDATE order_items SET quantity = 3 WHERE id = $1`, [ids.item]);
    await q(`UPDATE opportunities SET stage = 'closed_won' WHERE id = $1`, [ids.opportunity]);
    await q(`UPDATE orders SET status = 'confirmed' WHERE id = $1`, [ids.order]);
    await q('DELETE FROM order_items WHERE id = $1', [ids.item]);
    await q(`UPDATE orders SET id = $2 WHERE id = $1`, [ids.order, ids.orderMoved]);
    // Deletes.
    await q('DELETE FROM orders WHERE id = $1', [ids.orderMoved]);
    await q('DELETE FROM customers WHERE id = $1', [ids.customer2]);
    await q('DELETE FROM opportunities WHERE id = $1', [ids.opportunity]);
    await q('DELETE FROM inventory WHERE id = $1', [ids.inventory]);
    await q('DELETE FROM suppliers WHERE id = $1', [ids.supplier]);
    // Truncates of the rest.
    await q('TRUNCATE opportunities');
    await q('TRUNCATE inventory, suppliers, customers CASCADE');
    // 7 inserts; 7 updates, the key change making two events; 6 deletes; truncates of 6 tables
    // (CASCADE reaches orders and order_items) on 3 partitions each.
    const expected = 7 + 8 + 6 + 6 * 3;
    received = await consume(
      fixture,
      CAPTURED_TABLES.map((t) => fixture.topic(t)),
      (r) => r.length >= expected,
    );
  });

  afterAll(async () => {
    await reader.stop();
    await fixture.close();
  });

  const of = (table: string, op?: string) => received.filter((r) => r.topic.endsWith(`.public.${table}`) && (!op || r.envelope.op === op));

  it('creates each table topic with at least 3 partitions', async () => {
    const admin = fixture.kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: CAPTURED_TABLES.map((t) => fixture.topic(t)) });
    await admin.disconnect();
    for (const topic of metadata.topics) expect(topic.partitions.length).toBeGreaterThanOrEqual(3);
  });

  it('inserts arrive as op c with after and the primary key as message key', () => {
    for (const table of CAPTURED_TABLES) expect(of(table, 'c').length).toBeGreaterThanOrEqual(1);
    const [order] = of('orders', 'c').filter((r) => r.key === ids.order);
    expect(order?.envelope).toMatchObject({
      before: null,
      after: { id: ids.order, customer_id: ids.customer, status: 'pending', total: '25.50', currency: 'USD', invoice_url: null },
      source: { schema: 'public', table: 'orders', snapshot: false },
    });
    expect(order?.headers['schema-fingerprint']).toMatch(/^[0-9a-f]{16}$/);
    expect(order?.headers['event-id']).toBe(order?.envelope.eventId);
    expect(order?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('updates arrive as op u; with full replica identity, before holds the old row', () => {
    const [inventory] = of('inventory', 'u');
    expect(inventory?.envelope.before).toMatchObject({ quantity: 100 });
    expect(inventory?.envelope.after).toMatchObject({ quantity: 5 });
    const [opportunity] = of('opportunities', 'u');
    expect([opportunity?.envelope.before?.stage, opportunity?.envelope.after?.stage]).toEqual(['prospecting', 'closed_won']);
    // Default identity (customers): no old row is sent for an update.
    const [customer] = of('customers', 'u');
    expect(customer?.envelope).toMatchObject({ before: null, after: { name: 'Ada L.' }, unavailable: [] });
  });

  it('a primary-key change is a delete on the old key and an insert on the new key', () => {
    const moved = of('orders').filter((r) => r.headers['key-moved']);
    expect(moved.map((r) => [r.envelope.op, r.key, r.headers['key-moved']])).toEqual([
      ['d', ids.order, ids.orderMoved],
      ['c', ids.orderMoved, ids.order],
    ]);
    expect(moved[0]?.envelope.before).toMatchObject({ id: ids.order, status: 'confirmed' });
    expect(moved[1]?.envelope.after).toMatchObject({ id: ids.orderMoved, status: 'confirmed' });
  });

  it('deletes arrive as op d: the full old row under FULL identity, the key and listed placeholders otherwise', () => {
    for (const table of CAPTURED_TABLES) expect([table, of(table, 'd').length >= 1]).toEqual([table, true]);
    expect(of('opportunities', 'd')[0]?.envelope.before).toMatchObject({ id: ids.opportunity, stage: 'closed_won', value: '1000.00' });
    expect(of('suppliers', 'd')[0]?.envelope).toMatchObject({
      before: { id: ids.supplier },
      unavailable: expect.arrayContaining(['before.name']),
    });
    const order = of('orders', 'd').find((r) => r.key === ids.orderMoved);
    expect(order?.envelope).toMatchObject({ after: null, before: { id: ids.orderMoved, total: '25.50' }, unavailable: [] });
    const [item] = of('order_items', 'd');
    expect(item?.key).toBe(ids.item);
    expect(item?.envelope.before?.id).toBe(ids.item);
    expect(item?.envelope.unavailable).toEqual([
      'before.order_id',
      'before.inventory_id',
      'before.name',
      'before.quantity',
      'before.price',
    ]);
  });

  it('truncates arrive as op t on every partition, keyed by kind, table and partition', () => {
    for (const table of ['opportunities', 'inventory', 'suppliers', 'customers']) {
      const truncates = of(table, 't');
      expect(truncates.map((r) => r.partition).sort()).toEqual([0, 1, 2]);
      expect(truncates.map((r) => r.key).sort()).toEqual([0, 1, 2].map((p) => `__control:truncate:public.${table}:${p}`));
      expect(truncates.every((r) => r.envelope.before === null && r.envelope.after === null)).toBe(true);
      expect(new Set(truncates.map((r) => r.envelope.eventId)).size).toBe(3);
    }
  });

  it('keeps commit order per key: each key lives on one partition, its LSNs rising', () => {
    const byKey = new Map<string, Received[]>();
    for (const r of received.filter((x) => x.key !== null))
      byKey.set(`${r.topic}/${r.key}`, [...(byKey.get(`${r.topic}/${r.key}`) ?? []), r]);
    for (const [key, records] of byKey) {
      expect([key, new Set(records.map((r) => r.partition)).size]).toEqual([key, 1]);
      const sorted = [...records].sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset)));
      const lsns = sorted.map((r) => r.envelope.source.lsn);
      const numeric = lsns.map((l) => {
        const [hi, lo] = l.split('/') as [string, string];
        return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
      });
      for (let i = 1; i < numeric.length; i++) expect((numeric[i] as bigint) >= (numeric[i - 1] as bigint)).toBe(true);
    }
    // And the customer's insert precedes its update.
    const customer = received.filter((r) => r.key === ids.customer && r.topic.endsWith('customers'));
    expect(customer.map((r) => r.envelope.op)).toEqual(['c', 'u']);
  });

  it('gives every event a distinct, deterministic id: <system id>:<commit LSN>:<ordinal>', () => {
    const ids = received.map((r) => r.envelope.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of received)
      expect(r.envelope.eventId).toMatch(new RegExp(`^\\d+:${r.envelope.source.lsn.replace('/', '\\/')}:\\d+(:p\\d)?$`));
  });
});
