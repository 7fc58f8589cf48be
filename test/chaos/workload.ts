import type { Pool, PoolClient } from '@pipeline/db';
import { DemoWorkload } from '../../packages/cli/src/demo/workload';

/**
 * The demo's traffic plus what the chaos invariants need: confirmed orders later cancelled or
 * shipped, and restocks. Every action the invariants count is written in the same transaction as
 * a row of `chaos_actions` (a table nobody captures), so a commit whose answer a PostgreSQL
 * restart cut off is still known exactly: the database, not this process's memory, is the record.
 */

export type ChaosAction = 'cancel' | 'ship' | 'restock';

/** The harness's own table: what the workload asked for, committed with the asking. */
export const CHAOS_ACTIONS_DDL = `
  CREATE TABLE IF NOT EXISTS chaos_actions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('cancel', 'ship', 'restock')),
    subject uuid NOT NULL,
    amount integer NOT NULL DEFAULT 0,
    at timestamptz NOT NULL DEFAULT clock_timestamp())`;

const RESTOCK_AMOUNT = 30;

export class ChaosWorkload extends DemoWorkload {
  /** Each item's quantity right after `setUp`, before any order. */
  readonly initial = new Map<string, number>();
  /** Steps that failed (PostgreSQL away, a statement cut off), by error text. */
  readonly failures = new Map<string, number>();
  steps = 0;

  constructor(pool: Pool, runId: string, seed: number) {
    super(pool, runId, seed);
  }

  override async setUp(): Promise<void> {
    await super.setUp();
    const { rows } = await this.pool.query<{ id: string; quantity: number }>(
      'SELECT id, quantity FROM inventory WHERE id = ANY($1::uuid[])',
      [this.rows.inventory],
    );
    for (const row of rows) this.initial.set(row.id, row.quantity);
  }

  /** One action: now and then a confirmed order cancelled or shipped, else the demo's step. A failed step is counted, not thrown. */
  async act(): Promise<string> {
    this.steps++;
    try {
      const roll = this.random();
      if (roll < 0.06 && (await this.finishOrder('cancel'))) return 'cancel';
      if (roll >= 0.06 && roll < 0.12 && (await this.finishOrder('ship'))) return 'ship';
      return await this.step();
    } catch (error) {
      const text = String((error as Error).message ?? error).slice(0, 120);
      this.failures.set(text, (this.failures.get(text) ?? 0) + 1);
      return 'failed';
    }
  }

  /** A restock recorded with itself. */
  protected override async restock(): Promise<boolean> {
    return this.inTransaction(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `UPDATE inventory SET quantity = quantity + $2, updated_at = now()
          WHERE id = (SELECT id FROM inventory WHERE id = ANY($1::uuid[]) AND quantity < reorder_threshold ORDER BY quantity LIMIT 1)
          RETURNING id`,
        [this.rows.inventory, RESTOCK_AMOUNT],
      );
      const item = rows[0]?.id;
      if (!item) return false;
      await this.record(client, 'restock', item, RESTOCK_AMOUNT);
      return true;
    });
  }

  /** Cancels or ships one of this run's confirmed orders, as a shop would; false when none is confirmed yet. */
  private async finishOrder(kind: 'cancel' | 'ship'): Promise<boolean> {
    return this.inTransaction(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `UPDATE orders SET status = $2
          WHERE id = (SELECT id FROM orders WHERE id = ANY($1::uuid[]) AND status = 'confirmed' ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING id`,
        [this.rows.orders, kind === 'cancel' ? 'cancelled' : 'shipped'],
      );
      const order = rows[0]?.id;
      if (!order) return false;
      await this.record(client, kind, order, 0);
      return true;
    });
  }

  private async record(client: PoolClient, kind: ChaosAction, subject: string, amount: number): Promise<void> {
    await client.query('INSERT INTO chaos_actions (run_id, kind, subject, amount) VALUES ($1, $2, $3, $4)', [
      this.runId,
      kind,
      subject,
      amount,
    ]);
  }

  private async inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
