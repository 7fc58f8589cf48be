import { createTestDatabase, type TestDatabase, uniqueName } from '@pipeline/testing';

/** pgoutput message types (PostgreSQL "Logical Replication Message Formats"). */
const BEGIN = 'B'.charCodeAt(0);
const RELATION = 'R'.charCodeAt(0);
const INSERT = 'I'.charCodeAt(0);
const COMMIT = 'C'.charCodeAt(0);

describe('logical decoding on the local PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('logical');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('runs with wal_level=logical and a cap on the WAL a slot may hold', async () => {
    const { rows } = await db.pool.query<{ wal_level: string }>('SHOW wal_level');
    expect(rows[0]?.wal_level).toBe('logical');
    const cap = await db.pool.query<{ max_slot_wal_keep_size: string }>('SHOW max_slot_wal_keep_size');
    expect(cap.rows[0]?.max_slot_wal_keep_size).not.toBe('-1');
  });

  it('creates a pgoutput slot and reads a committed insert from it through the publication', async () => {
    const slot = uniqueName('test_slot');
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await db.pool.query(
      `INSERT INTO suppliers (name, email, default_order_quantity) VALUES ('Łukasz Żółć Supplies', 'ops@example.com', 25)`,
    );
    const { rows } = await db.pool.query<{ lsn: string; xid: string; data: Buffer }>(
      `SELECT lsn::text, xid::text, data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', 'pipeline')`,
      [slot],
    );
    const types = rows.map((row) => row.data[0]);
    expect(types).toEqual([BEGIN, RELATION, INSERT, COMMIT]);
    const relation = rows[1]?.data.toString('utf8') ?? '';
    expect(relation).toContain('suppliers');
    const insert = rows[2]?.data.toString('utf8') ?? '';
    expect(insert).toContain('Łukasz Żółć Supplies');
    expect(insert).toContain('25');
  });

  it('publishes exactly the captured tables, with full replica identity where consumers need old values', async () => {
    const { rows } = await db.pool.query<{ tablename: string }>(
      `SELECT tablename FROM pg_publication_tables WHERE pubname = 'pipeline' ORDER BY tablename`,
    );
    expect(rows.map((r) => r.tablename)).toEqual(['customers', 'inventory', 'opportunities', 'order_items', 'orders', 'suppliers']);
    const identity = await db.pool.query<{ relname: string; relreplident: string }>(
      `SELECT relname, relreplident FROM pg_class
        WHERE relname IN ('orders', 'inventory', 'opportunities', 'customers') AND relkind = 'r' ORDER BY relname`,
    );
    expect(Object.fromEntries(identity.rows.map((r) => [r.relname, r.relreplident]))).toEqual({
      customers: 'd',
      inventory: 'f',
      opportunities: 'f',
      orders: 'f',
    });
  });
});
