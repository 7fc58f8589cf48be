import { traceFields } from './trace-fields';

describe('traceFields', () => {
  const source = { topic: 'cdc.public.orders', partition: 1, offset: '7' };

  it('names the table from the topic first read, the row by its key, and the commit time', () => {
    expect(traceFields('cdc', { source, key: 'o-1', eventTimeMs: Date.parse('2026-12-03T10:00:00.123Z') })).toEqual({
      subject: 'public.orders',
      rowKey: 'o-1',
      committedAt: new Date('2026-12-03T10:00:00.123Z'),
    });
  });

  it('leaves out what is not known: an undecodable message has no time, a topic of another prefix no table', () => {
    expect(traceFields('cdc', { source })).toEqual({ subject: 'public.orders' });
    expect(traceFields('other', { source, key: 'o-1', eventTimeMs: Number.NaN })).toEqual({ rowKey: 'o-1' });
  });

  it('names no row for a control record (a truncate, the end of a snapshot): its key is not a row’s', () => {
    expect(traceFields('cdc', { source, key: '__control:snapshot-end:public.orders:1' })).toEqual({ subject: 'public.orders' });
    expect(traceFields('cdc', { source, key: '__control:truncate:public.orders:0' })).toEqual({ subject: 'public.orders' });
  });
});
