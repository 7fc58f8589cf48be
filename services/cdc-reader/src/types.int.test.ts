import { randomBytes } from 'node:crypto';
import { EDGE_ROWS } from '@pipeline/schemas/fixtures';
import { uniqueName } from '@pipeline/testing';
import { consume, type ReaderFixture, readerFixture, startReader, waitStreaming } from './__tests__/harness';
import { UNAVAILABLE_TEXT } from './columns';
import type { CdcReader } from './reader';

/** Inserts a row given as column → text, letting PostgreSQL parse every value from text. */
async function insertText(fixture: ReaderFixture, table: string, row: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(row);
  const values = columns.map((c) => row[c]);
  await fixture.db.pool.query(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
  );
}

describe('cdc-reader: types survive PostgreSQL → Kafka exactly', () => {
  let fixture: ReaderFixture;
  let reader: CdcReader;

  beforeAll(async () => {
    fixture = await readerFixture('types');
    // The codec's edge values include negatives the business constraints forbid: this database allows them.
    await fixture.db.pool.query('ALTER TABLE opportunities DROP CONSTRAINT opportunities_value_check');
    ({ reader } = startReader(fixture));
    await waitStreaming(reader);
  });
  afterAll(async () => {
    await reader.stop();
    await fixture.close();
  });

  it('carries the edge values of every table (precision bounds, NULLs, Unicode, nested JSON, microseconds, 0001 and 9999)', async () => {
    const order = [
      'public.customers',
      'public.suppliers',
      'public.inventory',
      'public.orders',
      'public.order_items',
      'public.opportunities',
    ] as const;
    let count = 0;
    for (const subject of order) {
      for (const row of EDGE_ROWS[subject]) {
        await insertText(fixture, subject, row);
        count++;
      }
    }
    const received = await consume(
      fixture,
      order.map((s) => fixture.topic(s.slice('public.'.length))),
      (r) => r.length >= count,
    );
    // jsonb is carried as PostgreSQL prints it (it normalises spacing and key order): compare with that text.
    const { rows } = await fixture.db.pool.query<{ attributes: string }>('SELECT attributes::text FROM inventory');
    for (const subject of order) {
      // Records of different keys sit on different partitions: compare in id order.
      const byId = (a: { id?: unknown }, b: { id?: unknown }) => String(a.id).localeCompare(String(b.id));
      const got = received
        .filter((r) => r.topic.endsWith(subject))
        .map((r) => ({ ...r.envelope.after }))
        .sort(byId);
      const expected = EDGE_ROWS[subject]
        .map((row) => (subject === 'public.inventory' ? { ...row, attributes: rows[0]?.attributes } : { ...row }))
        .sort(byId);
      expect([subject, got]).toEqual([subject, expected]);
    }
    // Every digit of a number inside jsonb survives (it never passed through a float).
    expect(received.find((r) => r.topic.endsWith('inventory'))?.envelope.after?.attributes).toContain('12345678901234567890.123');
  });

  it('an update of a row whose jsonb is stored out of line carries the unchanged value (FULL identity)', async () => {
    await fixture.db.pool.query('ALTER TABLE inventory ALTER COLUMN attributes SET STORAGE EXTERNAL');
    // Incompressible and large: stored out of line, so PostgreSQL sends it as "unchanged" on update.
    const blob = randomBytes(8_000).toString('base64');
    const id = '10000000-0000-4000-8000-00000000f00d';
    await fixture.db.pool.query(
      `INSERT INTO inventory (id, sku, product_name, quantity, reorder_threshold, attributes) VALUES ($1, 'TOAST-1', 'Big', 10, 1, $2)`,
      [id, JSON.stringify({ blob })],
    );
    // A second slot, decoded as text, proves the update really carried the value as unchanged TOAST.
    const probe = uniqueName('probe');
    await fixture.db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [probe]);
    await fixture.db.pool.query('UPDATE inventory SET quantity = 9 WHERE id = $1', [id]);
    const { rows } = await fixture.db.pool.query<{ data: string }>('SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)', [probe]);
    await fixture.db.pool.query('SELECT pg_drop_replication_slot($1)', [probe]);
    expect(rows.map((r) => r.data).join('\n')).toMatch(/new-tuple:.*attributes\[jsonb\]:unchanged-toast-datum/);

    const received = await consume(fixture, [fixture.topic('inventory')], (r) => r.some((x) => x.key === id && x.envelope.op === 'u'));
    const update = received.find((x) => x.key === id && x.envelope.op === 'u');
    expect(update?.envelope.after?.quantity).toBe(9);
    expect(JSON.parse(String(update?.envelope.after?.attributes))).toEqual({ blob });
    expect(update?.envelope.unavailable).toEqual([]);
  });

  it('without FULL identity, an unchanged out-of-line value is marked unavailable, never missing', async () => {
    await fixture.db.pool.query('ALTER TABLE customers ALTER COLUMN name SET STORAGE EXTERNAL');
    const id = 'c0000000-0000-4000-8000-00000000f00d';
    const name = randomBytes(6_000).toString('base64');
    await fixture.db.pool.query(`INSERT INTO customers (id, email, name) VALUES ($1, 'toast@example.com', $2)`, [id, name]);
    await fixture.db.pool.query(`UPDATE customers SET email = 'toast2@example.com' WHERE id = $1`, [id]);
    const received = await consume(fixture, [fixture.topic('customers')], (r) => r.some((x) => x.key === id && x.envelope.op === 'u'));
    const insert = received.find((x) => x.key === id && x.envelope.op === 'c');
    const update = received.find((x) => x.key === id && x.envelope.op === 'u');
    expect(insert?.envelope.after?.name).toBe(name);
    expect(update?.envelope).toMatchObject({
      before: null,
      after: { email: 'toast2@example.com', name: UNAVAILABLE_TEXT },
      unavailable: ['after.name'],
    });
  });
});
