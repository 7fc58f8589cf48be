import { randomUUID } from 'node:crypto';
import type { Pool } from '@pipeline/db';

/** What /readyz says: its status code and body. */
export interface Readiness {
  status: number;
  body: { status: string; reason?: string; checks?: Record<string, string> };
}

/** Asks /readyz until `until` holds for its body (or 30 s pass), and returns that answer. */
export async function readyz(port: number, until: (body: Readiness['body']) => boolean, timeoutMs = 30_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  let last: Readiness | undefined;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      last = { status: response.status, body: (await response.json()) as Readiness['body'] };
      if (until(last.body)) return last;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`/readyz never answered as expected; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Inserts `count` pending orders (and their customer) in one transaction; returns their ids. */
export async function insertOrders(pool: Pool, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const customer = randomUUID();
    await client.query(`INSERT INTO customers (id, email, name) VALUES ($1, $2, 'Ada Lovelace')`, [customer, `${customer}@example.com`]);
    for (const id of ids) await client.query(`INSERT INTO orders (id, customer_id, total) VALUES ($1, $2, 10.00)`, [id, customer]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return ids;
}
