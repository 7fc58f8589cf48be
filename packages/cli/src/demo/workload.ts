import type { Pool } from '@pipeline/db';
import { seededRandom } from '@pipeline/runtime';

/**
 * The demo's traffic, in plain SQL as an application would write it: customers placing orders with
 * several items, stock falling and restocked, opportunities moving through the stages under several
 * owners. Every row it writes carries the run id (in a customer's address, a product's SKU, an
 * owner's name), so the summary counts this run's rows only.
 */

const PRODUCTS: [string, string][] = [
  ['Kubek ceramiczny „Łódź”', '24.90'],
  ['Чайник эмалированный', '39.50'],
  ['Κούπα από πηλό', '18.00'],
  ['Notebook A5, dotted', '7.25'],
  ['Zestaw przypraw — żółty', '12.40'],
  ['Стеклянная банка 1 л', '5.80'],
  ['Ελαιόλαδο 500 ml', '11.10'],
  ['Espresso cups (2)', '15.00'],
];
const CUSTOMERS = [
  'Zofia Wiśniewska',
  'Łukasz Żółkiewski',
  'Анна Иванова',
  'Дмитрий Соколов',
  'Γιώργος Παπαδόπουλος',
  'Ελένη Νικολάου',
  'Maria García',
  'John Smith',
];
const OWNERS = ['agnieszka', 'boris', 'eleni', 'sam'];
const STAGES = ['prospecting', 'qualification', 'proposal', 'negotiation'] as const;

/** What a run wrote, by table: the keys the summary looks its events up by. */
export interface RunRows {
  orders: string[];
  inventory: string[];
  opportunities: string[];
  customers: string[];
  owners: string[];
}

export type DemoAction =
  | 'order'
  | 'unfillable-order'
  | 'restock'
  | 'new-opportunity'
  | 'advance-opportunity'
  | 'close-won'
  | 'close-lost'
  | 'reopen';

export class DemoWorkload {
  readonly rows: RunRows = { orders: [], inventory: [], opportunities: [], customers: [], owners: [] };
  readonly counts = new Map<DemoAction, number>();
  protected readonly random: () => number;
  private products: { id: string; price: string }[] = [];
  /** Open opportunities and their stage index; won ones (which may reopen). */
  private readonly open = new Map<string, number>();
  private readonly won: string[] = [];

  constructor(
    protected readonly pool: Pool,
    readonly runId: string,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    this.rows.owners = OWNERS.map((owner) => `${owner}.${runId}`);
  }

  /** The products this run sells, in stock a little above their reorder thresholds (a few orders take them below). */
  async setUp(): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; price: string }>(
      `INSERT INTO inventory (sku, product_name, quantity, reorder_threshold, attributes)
       SELECT 'DEMO-' || $1 || '-' || n, name, 14 + (n * 5) % 9, 10, jsonb_build_object('price', price, 'demo', $1::text)
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS p(name, price, n)
       RETURNING id, attributes->>'price' AS price`,
      [this.runId, PRODUCTS.map(([name]) => name), PRODUCTS.map(([, price]) => price)],
    );
    this.products = rows;
    this.rows.inventory = rows.map((row) => row.id);
  }

  /** One step of traffic: one transaction, as one user's action. */
  async step(): Promise<DemoAction> {
    const roll = this.random();
    let action: DemoAction;
    if (roll < 0.38) action = 'order';
    else if (roll < 0.41) action = 'unfillable-order';
    else if (roll < 0.5) action = (await this.restock()) ? 'restock' : await this.opportunityStep();
    else action = await this.opportunityStep();
    if (action === 'order' || action === 'unfillable-order') await this.retried(() => this.placeOrder(action === 'unfillable-order'));
    this.counts.set(action, (this.counts.get(action) ?? 0) + 1);
    return action;
  }

  /** As an application would: a transaction that lost a deadlock or a serialization conflict is run again. */
  protected async retried(work: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (attempt >= 3 || (code !== '40P01' && code !== '40001')) throw error;
      }
    }
  }

  protected pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)] as T;
  }

  /** A customer (new, or one of this run's) and an order of 1–3 lines, in one transaction. */
  private async placeOrder(unfillable: boolean): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      let customer: string;
      // Known only once committed: a transaction that is run again makes its customer again.
      let created: string | undefined;
      if (this.rows.customers.length === 0 || this.random() < 0.4) {
        const n = this.rows.customers.length + 1;
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO customers (email, name, locale) VALUES ($1, $2, $3) RETURNING id`,
          [`demo-${this.runId}-${n}@example.com`, this.pick(CUSTOMERS), this.pick(['en', 'pl'])],
        );
        customer = (rows[0] as { id: string }).id;
        created = customer;
      } else customer = this.pick(this.rows.customers);
      const lines = Array.from({ length: 1 + Math.floor(this.random() * 3) }, () => {
        const product = this.pick(this.products);
        return { product, quantity: 1 + Math.floor(this.random() * 3) };
      });
      // Far more than any stock: the order goes on hold.
      if (unfillable) (lines[0] as { quantity: number }).quantity = 500;
      const cents = lines.reduce((sum, line) => sum + Math.round(Number(line.product.price) * 100) * line.quantity, 0);
      const total = (cents / 100).toFixed(2);
      const { rows } = await client.query<{ id: string }>(`INSERT INTO orders (customer_id, total) VALUES ($1, $2) RETURNING id`, [
        customer,
        total,
      ]);
      const order = (rows[0] as { id: string }).id;
      await client.query(
        `INSERT INTO order_items (order_id, inventory_id, name, quantity, price)
         SELECT $1, i.id, i.product_name, l.quantity, l.price FROM unnest($2::uuid[], $3::int[], $4::numeric[]) AS l(id, quantity, price)
           JOIN inventory i ON i.id = l.id`,
        [order, lines.map((l) => l.product.id), lines.map((l) => l.quantity), lines.map((l) => l.product.price)],
      );
      await client.query('COMMIT');
      if (created) this.rows.customers.push(created);
      this.rows.orders.push(order);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Restocks one of this run's products that fell below its threshold; false when none did. A harness may record it too. */
  protected async restock(): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE inventory SET quantity = quantity + 30, updated_at = now()
        WHERE id = (SELECT id FROM inventory WHERE id = ANY($1::uuid[]) AND quantity < reorder_threshold ORDER BY quantity LIMIT 1)`,
      [this.rows.inventory],
    );
    return (rowCount ?? 0) > 0;
  }

  private async opportunityStep(): Promise<DemoAction> {
    if (this.open.size < 3 || this.random() < 0.25) {
      const { rows } = await this.pool.query<{ id: string }>(
        `INSERT INTO opportunities (name, value, owner) VALUES ($1, $2, $3) RETURNING id`,
        [
          `Deal ${this.rows.opportunities.length + 1} (${this.runId})`,
          (1_000 + Math.floor(this.random() * 49_000)).toFixed(2),
          this.pick(this.rows.owners),
        ],
      );
      const id = (rows[0] as { id: string }).id;
      this.rows.opportunities.push(id);
      this.open.set(id, 0);
      return 'new-opportunity';
    }
    if (this.won.length > 0 && this.random() < 0.04) {
      const id = this.won.splice(Math.floor(this.random() * this.won.length), 1)[0] as string;
      await this.setStage(id, 'negotiation');
      this.open.set(id, 3);
      return 'reopen';
    }
    const [id, stage] = this.pick([...this.open]);
    if (stage < STAGES.length - 1) {
      await this.setStage(id, STAGES[stage + 1] as string);
      this.open.set(id, stage + 1);
      return 'advance-opportunity';
    }
    this.open.delete(id);
    if (this.random() < 0.6) {
      await this.setStage(id, 'closed_won');
      this.won.push(id);
      return 'close-won';
    }
    await this.setStage(id, 'closed_lost');
    return 'close-lost';
  }

  private async setStage(id: string, stage: string): Promise<void> {
    await this.pool.query('UPDATE opportunities SET stage = $2, updated_at = now() WHERE id = $1', [id, stage]);
  }
}
