import type { CustomersRow, Envelope, InventoryRow, OpportunitiesRow, OrderItemsRow, OrdersRow, SuppliersRow } from './generated/types';
import { type SnapshotEndRecord, snapshotEndEventId } from './snapshot-end';

/**
 * Edge values for every captured table, shared by the codec's unit tests and the end-to-end tests
 * that write them through PostgreSQL: numerics at their precision bounds and negative, NULL in
 * every nullable column, Polish, Cyrillic, Greek and emoji text, nested JSON, microsecond
 * timestamps (including sentinel dates far outside a JavaScript number's exact range).
 */
export const UNICODE = 'Zażółć gęślą jaźń — Съешь же ещё — Ξεσκεπάζω — 🧾🚚✅';

export const EDGE_ROWS = {
  'public.customers': [
    {
      id: '00000000-0000-4000-8000-000000000001',
      email: 'łukasz@example.com',
      name: UNICODE,
      locale: 'pl',
      created_at: '2026-11-29T17:35:04.123456Z',
    },
    { id: '00000000-0000-4000-8000-000000000002', email: 'a@b.c', name: '', locale: 'el', created_at: '0001-01-01T00:00:00.000001Z' },
  ] satisfies CustomersRow[],
  'public.orders': [
    {
      id: '00000000-0000-4000-8000-000000000011',
      customer_id: '00000000-0000-4000-8000-000000000001',
      status: 'pending',
      total: '9999999999.99',
      currency: 'PLN',
      invoice_url: 'https://invoices.example.com/ż/1.pdf',
      confirmation_sent_at: '9999-12-31T23:59:59.999999Z',
      created_at: '1969-12-31T23:59:59.999999Z',
    },
    {
      id: '00000000-0000-4000-8000-000000000012',
      customer_id: '00000000-0000-4000-8000-000000000002',
      status: 'failed',
      total: '0.01',
      currency: 'EUR',
      invoice_url: null,
      confirmation_sent_at: null,
      created_at: '2026-11-29T17:35:04.000001Z',
    },
  ] satisfies OrdersRow[],
  'public.order_items': [
    {
      id: '00000000-0000-4000-8000-000000000021',
      order_id: '00000000-0000-4000-8000-000000000011',
      inventory_id: '00000000-0000-4000-8000-000000000031',
      name: UNICODE,
      quantity: 2147483647,
      price: '9999999999.99',
    },
    {
      id: '00000000-0000-4000-8000-000000000022',
      order_id: '00000000-0000-4000-8000-000000000011',
      inventory_id: null,
      name: 'gift wrap',
      quantity: 1,
      price: '0.00',
    },
  ] satisfies OrderItemsRow[],
  'public.suppliers': [
    {
      id: '00000000-0000-4000-8000-000000000041',
      name: 'Поставщик Ελλάς 🏭',
      email: null,
      default_order_quantity: 1,
      created_at: '2026-01-01T00:00:00.000000Z',
    },
  ] satisfies SuppliersRow[],
  'public.inventory': [
    {
      id: '00000000-0000-4000-8000-000000000031',
      sku: 'SKU-ŻÓŁW-1',
      product_name: UNICODE,
      quantity: 0,
      reorder_threshold: 2147483647,
      supplier_id: null,
      attributes:
        '{"dims": {"w": 1.5, "h": [1, 2, {"deep": {"deeper": ["ż", "Ж", "λ", "🙂", null, true]}}]}, "big": 12345678901234567890.123}',
      updated_at: '2026-11-29T17:35:04.999999Z',
    },
  ] satisfies InventoryRow[],
  'public.opportunities': [
    {
      id: '00000000-0000-4000-8000-000000000051',
      name: UNICODE,
      stage: 'closed_won',
      value: '999999999999.99',
      owner: null,
      created_at: '2026-11-29T17:35:04.123456Z',
      updated_at: '2026-11-29T17:35:04.654321Z',
    },
    {
      id: '00000000-0000-4000-8000-000000000052',
      name: 'negative for the codec',
      stage: 'proposal',
      value: '-999999999999.99',
      owner: 'Ирина',
      created_at: '2026-11-29T17:35:04.123456Z',
      updated_at: '2026-11-29T17:35:04.123456Z',
    },
  ] satisfies OpportunitiesRow[],
} as const;

export type EdgeSubject = keyof typeof EDGE_ROWS;

/** The first edge row of a subject (every subject has at least one). */
export function firstEdgeRow<S extends EdgeSubject>(subject: S): (typeof EDGE_ROWS)[S][number] {
  const row = EDGE_ROWS[subject][0];
  if (!row) throw new Error(`no edge row for ${subject}`);
  return row;
}

/** An envelope around a row, as the reader would produce it. */
export function edgeEnvelope<Row>(subject: string, op: 'c' | 'u' | 'd' | 'r' | 't', before: Row | null, after: Row | null): Envelope<Row> {
  const [schema, table] = subject.split('.') as [string, string];
  return {
    op,
    before,
    after,
    source: {
      db: 'pipeline',
      schema,
      table,
      lsn: 'FFFFFFFF/FFFFFFFF',
      txId: 4294967295,
      commitTs: '2026-11-29T17:35:04.123456Z',
      snapshot: op === 'r',
    },
    eventId: `7312345678901234567:FFFFFFFF/FFFFFFFF:0`,
    unavailable: [],
    tsMs: 1795973704123,
  };
}

/** The end of a table's snapshot on one partition, as the cdc-reader writes it (system id 7301). */
export function snapshotEndFixture(subject: string, partition: number, partitions: number, consistentPoint = '0/10'): SnapshotEndRecord {
  const [schema = '', table = ''] = subject.split('.');
  return {
    db: 'pipeline',
    schema,
    table,
    slot: 'pipeline',
    consistentPoint,
    partition,
    partitions,
    rows: 0,
    eventId: snapshotEndEventId('7301', consistentPoint, subject, partition),
    tsMs: 1_780_000_000_000,
  };
}
