import { randomBytes } from 'node:crypto';
import { makePool, type Pool, READER_ROLE } from '@pipeline/db';
import { testClient } from './pg';
import { sharedStack, TEMPLATE_DATABASE, TEST_READER_PASSWORD } from './shared-stack';

export interface TestDatabase {
  name: string;
  /** Connection URL as the owner (the pipeline user). */
  url: string;
  /** Connection URL as the least-privileged reader role. */
  readerUrl: string;
  pool: Pool;
  /** Drops the database (and any replication slot on it). */
  drop(): Promise<void>;
}

/** A name no other test uses: `<prefix>_<random>`, safe as a database, slot, topic or group name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

function withDatabase(url: string, database: string, user?: { name: string; password: string }): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user) {
    parsed.username = user.name;
    parsed.password = user.password;
  }
  return parsed.toString();
}

/** An empty database (not migrated), for testing migrations themselves; `drop()` removes it. */
export async function createEmptyDatabase(prefix = 'empty'): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const adminUrl = sharedStack().endpoints.databaseUrl;
  const name = uniqueName(prefix);
  const admin = testClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return { name, url: withDatabase(adminUrl, name), drop: () => dropDatabase(adminUrl, name) };
}

/** A fresh, migrated database of its own for one test file, cloned from the migrated template. */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const adminUrl = sharedStack().endpoints.databaseUrl;
  const name = uniqueName(prefix);
  const admin = testClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  const pool = makePool({ connectionString: url, applicationName: `test:${name}`, max: 5 });
  return {
    name,
    url,
    readerUrl: withDatabase(adminUrl, name, { name: READER_ROLE, password: TEST_READER_PASSWORD }),
    pool,
    drop: async () => {
      await pool.end();
      await dropDatabase(adminUrl, name);
    },
  };
}

/** Drops a database whatever still uses it: its replication slots first, then its connections. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = testClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    // A terminated walsender releases its slot a moment later: retry until the slots are gone.
    const deadline = Date.now() + 10_000;
    for (;;) {
      await admin.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active', [name]);
      try {
        await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [name]);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
