import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** Anything that runs a query: a pool, a client checked out of one, or a client of its own. */
export type Queryable = Pool | PoolClient | pg.Client;

export interface PoolOptions {
  /** Schemas searched for unqualified names, for example `projection_rebuild,public` (a rebuild's shadow tables first). */
  searchPath?: string;
  connectionString: string;
  /** Shown in pg_stat_activity, so an operator sees which service holds a connection. */
  applicationName: string;
  /** Default 10. */
  max?: number;
  /** Default 10000. */
  connectionTimeoutMs?: number;
}

/** A pg pool whose idle-client errors are reported instead of crashing the process. */
export function makePool(options: PoolOptions, onError: (error: Error) => void = () => undefined): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    ...(options.searchPath ? { options: `-c search_path=${options.searchPath}` } : {}),
  });
  // An idle client whose server went away emits 'error'; unhandled, that would end the process.
  pool.on('error', onError);
  // So does a client checked out of the pool while it waits between queries (holding an advisory
  // lock while an email is sent, say): its user learns of it from its next query, which fails.
  // Without a listener, a PostgreSQL restart ended the order-processor (found by the chaos run).
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Runs `fn` with a client checked out of the pool, always released. */
export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}
