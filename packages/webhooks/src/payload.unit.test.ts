import type { Change } from '@pipeline/schemas';
import { webhookPayload } from './payload';

const source = {
  db: 'pipeline',
  schema: 'public',
  table: 'orders',
  lsn: '0/1A2B3C4',
  txId: 912,
  commitTs: '2026-12-04T10:15:30.123456Z',
  snapshot: false,
};
const base = { subject: 'public.orders', eventId: '7301:0/1A2B3C4:2', source, unavailable: [] as string[], tsMs: 0 };

describe('the webhook body of a change', () => {
  it('has the shape database-webhook receivers parse, with the event id and commit time', () => {
    const change = { ...base, op: 'u', snapshot: false, before: { id: 'o1', status: 'pending' }, after: { id: 'o1', status: 'confirmed' } };
    expect(webhookPayload(change as Change<object>)).toEqual({
      type: 'UPDATE',
      table: 'orders',
      schema: 'public',
      record: { id: 'o1', status: 'confirmed' },
      old_record: { id: 'o1', status: 'pending' },
      event_id: '7301:0/1A2B3C4:2',
      commit_timestamp: '2026-12-04T10:15:30.123456Z',
    });
    expect(webhookPayload({ ...base, op: 'c', snapshot: false, before: null, after: { id: 'o2' } } as Change<object>)).toMatchObject({
      type: 'INSERT',
      record: { id: 'o2' },
      old_record: null,
    });
    expect(webhookPayload({ ...base, op: 'd', snapshot: false, before: { id: 'o3' }, after: null } as Change<object>)).toMatchObject({
      type: 'DELETE',
      record: null,
      old_record: { id: 'o3' },
    });
  });

  it('leaves out the columns PostgreSQL did not send, instead of their placeholders', () => {
    const change = {
      ...base,
      op: 'd',
      snapshot: false,
      unavailable: ['before.notes', 'before.total'],
      before: { id: 'o4', notes: '__unavailable__', total: '0' },
      after: null,
    };
    expect(webhookPayload(change as Change<object>)?.old_record).toEqual({ id: 'o4' });
  });

  it('never delivers snapshot rows or truncates', () => {
    expect(webhookPayload({ ...base, op: 'r', snapshot: true, before: null, after: { id: 'o5' } } as Change<object>)).toBeUndefined();
    expect(webhookPayload({ ...base, op: 't', snapshot: false, before: null, after: null } as Change<object>)).toBeUndefined();
  });
});
