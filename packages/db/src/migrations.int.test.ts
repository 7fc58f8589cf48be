import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmptyDatabase, testClient } from '@pipeline/testing';
import type pg from 'pg';
import { loadMigrations, migrate } from './migrations';

/** An empty database and a client on it, for testing the migrator itself. */
async function emptyDatabase(): Promise<{ client: pg.Client; url: string; cleanup: () => Promise<void> }> {
  const db = await createEmptyDatabase('migrate');
  const client = testClient({ connectionString: db.url });
  await client.connect();
  return {
    client,
    url: db.url,
    cleanup: async () => {
      await client.end();
      await db.drop();
    },
  };
}

describe('migrate', () => {
  it('applies every migration in order once; a second run changes nothing', async () => {
    const { client, cleanup } = await emptyDatabase();
    try {
      const all = loadMigrations();
      const first = await migrate(client, all);
      expect(first.applied.map((m) => m.version)).toEqual(all.map((m) => m.version));
      const { rows: tablesBefore } = await client.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('public', 'cdc_reader')`,
      );
      const second = await migrate(client, all);
      expect(second).toEqual({ applied: [], alreadyApplied: all.length });
      const { rows: tablesAfter } = await client.query(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('public', 'cdc_reader')`,
      );
      expect(tablesAfter).toEqual(tablesBefore);
      const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    } finally {
      await cleanup();
    }
  });

  it('rolls a failing migration back whole and names it', async () => {
    const { client, cleanup } = await emptyDatabase();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
      writeFileSync(join(dir, '0001_good.sql'), 'CREATE TABLE good (id int);');
      writeFileSync(join(dir, '0002_bad.sql'), 'CREATE TABLE half (id int); SELECT * FROM no_such_table;');
      await expect(migrate(client, loadMigrations(dir))).rejects.toThrow(/migration 2 \(bad\) failed and was rolled back: .*no_such_table/);
      const { rows } = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
      expect(rows.map((r) => r.tablename)).toEqual(['good', 'schema_migrations']);
    } finally {
      await cleanup();
    }
  });

  it('refuses to run when an applied migration was edited', async () => {
    const { client, cleanup } = await emptyDatabase();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
      writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE first (id int);');
      await migrate(client, loadMigrations(dir));
      writeFileSync(join(dir, '0001_first.sql'), 'CREATE TABLE first (id bigint);');
      await expect(migrate(client, loadMigrations(dir))).rejects.toThrow(
        'migration 1 (first) changed after it was applied: restore the file and put the change in a new migration',
      );
    } finally {
      await cleanup();
    }
  });

  it('serialises concurrent runs: each migration is applied exactly once', async () => {
    const { client, url, cleanup } = await emptyDatabase();
    try {
      const other = testClient({ connectionString: url });
      await other.connect();
      const [a, b] = await Promise.all([migrate(client), migrate(other)]);
      await other.end();
      expect(a.applied.length + b.applied.length).toBe(loadMigrations().length);
    } finally {
      await cleanup();
    }
  });
});
