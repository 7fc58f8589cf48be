import { createTestDatabase, type TestDatabase, testClient } from '@pipeline/testing';
import type pg from 'pg';

const CAPTURED = ['customers', 'orders', 'order_items', 'suppliers', 'inventory', 'opportunities'];

describe('the cdc reader role (pipeline_reader)', () => {
  let db: TestDatabase;
  let reader: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('reader');
    reader = testClient({ connectionString: db.readerUrl });
    await reader.connect();
  });
  afterAll(async () => {
    await reader.end();
    await db.drop();
  });

  it('logs in with REPLICATION and without superuser, create-db or create-role rights', async () => {
    const { rows } = await reader.query(
      'SELECT rolreplication, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
    );
    expect(rows[0]).toEqual({ rolreplication: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false });
  });

  it('reads every captured table', async () => {
    for (const table of CAPTURED) {
      await expect(reader.query(`SELECT count(*) FROM ${table}`)).resolves.toBeDefined();
    }
  });

  it('cannot write to any table outside its own state schema', async () => {
    const { rows } = await db.pool.query<{ schemaname: string; tablename: string; first_column: string }>(
      `SELECT t.schemaname, t.tablename,
              (SELECT column_name FROM information_schema.columns c
                WHERE c.table_schema = t.schemaname AND c.table_name = t.tablename
                  AND c.is_generated = 'NEVER' AND c.is_identity = 'NO' ORDER BY ordinal_position LIMIT 1) AS first_column
         FROM pg_tables t WHERE t.schemaname NOT IN ('pg_catalog', 'information_schema', 'cdc_reader')`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(15);
    const attempts = [
      (t: string) => `INSERT INTO ${t} DEFAULT VALUES`,
      (t: string, c: string) => `UPDATE ${t} SET ${c} = ${c} WHERE false`,
      (t: string) => `DELETE FROM ${t} WHERE false`,
      (t: string) => `TRUNCATE ${t}`,
    ];
    for (const { schemaname, tablename, first_column: column } of rows) {
      for (const attempt of attempts) {
        const sql = attempt(`${schemaname}.${tablename}`, column);
        await expect(reader.query(sql)).rejects.toThrow(/permission denied/);
      }
    }
    await expect(reader.query('CREATE TABLE public.sneaky (id int)')).rejects.toThrow(/permission denied/);
  });

  it('writes its own state tables', async () => {
    await reader.query(`INSERT INTO cdc_reader.slots (slot_name, database_system_id, publication) VALUES ('slot_a', '123', 'pipeline')`);
    await reader.query(`UPDATE cdc_reader.slots SET last_seen_at = now() WHERE slot_name = 'slot_a'`);
    await reader.query(`INSERT INTO cdc_reader.snapshot_progress (slot_name, table_name, rows_emitted) VALUES ('slot_a', 'orders', 10)`);
    await reader.query(`DELETE FROM cdc_reader.snapshot_progress WHERE slot_name = 'slot_a'`);
    const { rows } = await db.pool.query('SELECT slot_name FROM cdc_reader.slots');
    expect(rows).toEqual([{ slot_name: 'slot_a' }]);
  });
});
