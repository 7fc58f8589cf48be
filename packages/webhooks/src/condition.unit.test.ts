import { filterProblem, matches } from './condition';
import type { WebhookPayload } from './payload';

describe('subscription filters', () => {
  const update = (before: Record<string, unknown>, after: Record<string, unknown>, table = 'orders'): WebhookPayload => ({
    type: 'UPDATE',
    table,
    schema: 'public',
    record: after,
    old_record: before,
    event_id: 'e',
    commit_timestamp: 't',
  });
  const statusChanged = { tables: ['public.orders'], operations: [], changedColumns: ['status'] };

  it('"orders whose status changed" takes only updates that change the status', () => {
    expect(matches(statusChanged, update({ status: 'pending', total: '1' }, { status: 'confirmed', total: '1' }))).toBe(true);
    expect(matches(statusChanged, update({ status: 'pending', total: '1' }, { status: 'pending', total: '2' }))).toBe(false);
    expect(matches(statusChanged, { ...update({}, { status: 'pending' }), type: 'INSERT', old_record: null })).toBe(false);
    expect(matches(statusChanged, update({ status: 'a' }, { status: 'b' }, 'inventory'))).toBe(false);
  });

  it('filters by table and operation', () => {
    const inserts = { tables: ['public.orders'], operations: ['INSERT' as const], changedColumns: [] };
    expect(matches(inserts, { ...update({}, { id: 1 }), type: 'INSERT', old_record: null })).toBe(true);
    expect(matches(inserts, update({ id: 1 }, { id: 1 }))).toBe(false);
  });

  it('refuses a "changed" condition on a table without the old row in full', () => {
    expect(filterProblem(statusChanged)).toBeUndefined();
    expect(filterProblem({ tables: ['public.customers'], operations: [], changedColumns: ['email'] })).toBe(
      'a "changed" condition needs the old row, which only tables with REPLICA IDENTITY FULL carry (public.orders, public.inventory, public.opportunities); not public.customers',
    );
    expect(filterProblem({ tables: [], operations: [], changedColumns: [] })).toBe('name at least one table (schema.table)');
  });
});
