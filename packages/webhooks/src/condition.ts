import type { WebhookPayload } from './payload';

/** Which changes of its tables a subscription wants. */
export interface SubscriptionFilter {
  tables: readonly string[];
  /** INSERT, UPDATE, DELETE; empty: all three. */
  operations: readonly WebhookPayload['type'][];
  /** Deliver an UPDATE only when one of these columns changed; empty: every change. */
  changedColumns: readonly string[];
}

/** Tables whose updates carry the old row in full (REPLICA IDENTITY FULL): a "changed" condition needs them. */
export const FULL_IDENTITY_TABLES = ['public.orders', 'public.inventory', 'public.opportunities'] as const;

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether a subscription receives this change. */
export function matches(filter: SubscriptionFilter, payload: WebhookPayload): boolean {
  if (!filter.tables.includes(`${payload.schema}.${payload.table}`)) return false;
  if (filter.operations.length > 0 && !filter.operations.includes(payload.type)) return false;
  if (filter.changedColumns.length === 0) return true;
  if (payload.type !== 'UPDATE') return false;
  const before = payload.old_record ?? {};
  const after = payload.record ?? {};
  return filter.changedColumns.some((column) => column in before && column in after && !equal(before[column], after[column]));
}

/** Why a filter cannot be kept, or undefined. */
export function filterProblem(filter: SubscriptionFilter): string | undefined {
  if (filter.tables.length === 0) return 'name at least one table (schema.table)';
  if (filter.changedColumns.length > 0) {
    const partial = filter.tables.filter((t) => !(FULL_IDENTITY_TABLES as readonly string[]).includes(t));
    if (partial.length > 0) {
      return `a "changed" condition needs the old row, which only tables with REPLICA IDENTITY FULL carry (${FULL_IDENTITY_TABLES.join(', ')}); not ${partial.join(', ')}`;
    }
  }
  return undefined;
}
