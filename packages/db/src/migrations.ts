import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

/** The migrations shipped with this package (`packages/db/migrations`). */
export const MIGRATIONS_DIR = join(__dirname, '..', 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** sha256 of the file: an applied migration must never change. */
  checksum: string;
}

export interface MigrationResult {
  applied: Migration[];
  alreadyApplied: number;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads `NNNN_name.sql` files in version order; any other file name is an error. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_NAME.exec(file);
      if (!match?.[1] || !match[2]) {
        throw new Error(`migration file ${file} in ${dir} is not named NNNN_lower_snake_name.sql`);
      }
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2],
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    })
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`two migrations share version ${migrations[i]?.version} in ${dir}`);
    }
  }
  return migrations;
}

/** Any number; it only has to be the same for every process migrating this database. */
const MIGRATION_LOCK_KEY = 727_274_001;

/**
 * Applies pending migrations in version order, each in its own transaction together with its row
 * in `schema_migrations`. Concurrent runs serialise on an advisory lock; a second run applies
 * nothing. A migration whose file changed after it was applied stops the run.
 */
export async function migrate(
  client: pg.ClientBase,
  migrations: readonly Migration[] = loadMigrations(),
  onApplied: (migration: Migration) => void = () => undefined,
): Promise<MigrationResult> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'SELECT version, name, checksum FROM schema_migrations ORDER BY version',
    );
    const applied = new Map(rows.map((row) => [row.version, row]));
    for (const migration of migrations) {
      const row = applied.get(migration.version);
      if (row && row.checksum !== migration.checksum) {
        throw new Error(
          `migration ${migration.version} (${migration.name}) changed after it was applied: ` +
            'restore the file and put the change in a new migration',
        );
      }
    }
    const pending = migrations.filter((migration) => !applied.has(migration.version));
    for (const migration of pending) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${migration.version} (${migration.name}) failed and was rolled back: ${(error as Error).message}`, {
          cause: error,
        });
      }
      onApplied(migration);
    }
    return { applied: pending, alreadyApplied: migrations.length - pending.length };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
  }
}

/** Role the cdc-reader logs in as; created by the first migration without a password. */
export const READER_ROLE = 'pipeline_reader';

/** Sets the reader role's password (kept out of migrations, which are in git). */
export async function setReaderPassword(client: pg.ClientBase, password: string): Promise<void> {
  const escaped = client.escapeLiteral(password);
  await client.query(`ALTER ROLE ${READER_ROLE} WITH PASSWORD ${escaped}`);
}
