import type { Pool } from './pool';

/** /readyz check: the pool can run a query. */
export function databaseReadiness(pool: Pool): () => Promise<void> {
  return async () => {
    await pool.query('SELECT 1');
  };
}
