import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSubjects, readRowSchema } from '@pipeline/schemas';
import { createTestDatabase, type TestDatabase } from '@pipeline/testing';
import { loadMigrations, migrate } from './migrations';
import { checkDrift } from './schema-drift';

describe('drift between the migrated database and the row schemas', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('drift');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('finds none: every captured column has its field, type and nullability', async () => {
    expect(listSubjects()).toHaveLength(6);
    for (const subject of listSubjects()) {
      expect(await checkDrift(db.pool, subject, readRowSchema(subject))).toEqual([]);
    }
  });

  it('names the column when a migration adds one the .avsc lacks (scratch database)', async () => {
    const scratch = await createTestDatabase('drift_scratch');
    try {
      const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
      writeFileSync(join(dir, '0100_add_discount.sql'), 'ALTER TABLE orders ADD COLUMN discount numeric(12,2);');
      const client = await scratch.pool.connect();
      try {
        await migrate(client, [...loadMigrations(), ...loadMigrations(dir)]);
      } finally {
        client.release();
      }
      expect(await checkDrift(scratch.pool, 'public.orders', readRowSchema('public.orders'))).toEqual([
        'public.orders.discount: column in the database (numeric(12,2), nullable) is missing from schemas/avro/rows/public.orders.avsc',
      ]);
    } finally {
      await scratch.drop();
    }
  });

  it('names the column when a type or nullability differs, or a field has no column', async () => {
    const scratch = await createTestDatabase('drift_scratch');
    try {
      await scratch.pool.query('ALTER TABLE suppliers ALTER COLUMN default_order_quantity TYPE bigint');
      await scratch.pool.query('ALTER TABLE suppliers ALTER COLUMN email SET NOT NULL');
      await scratch.pool.query('ALTER TABLE suppliers DROP COLUMN created_at');
      expect(await checkDrift(scratch.pool, 'public.suppliers', readRowSchema('public.suppliers'))).toEqual([
        'public.suppliers.email: the column is NOT NULL but schemas/avro/rows/public.suppliers.avsc makes it nullable',
        'public.suppliers.default_order_quantity: database type bigint is carried as long, but schemas/avro/rows/public.suppliers.avsc says int',
        'public.suppliers.created_at: field in schemas/avro/rows/public.suppliers.avsc has no column in the database',
      ]);
    } finally {
      await scratch.drop();
    }
  });
});
