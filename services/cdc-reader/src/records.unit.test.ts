import { FAILURE_HEADERS, READER_DLQ_HEADERS } from '@pipeline/kafka';
import { deadLetterRecord } from './records';

describe('the reader’s dead-letter record', () => {
  const input = {
    subject: 'public.orders',
    topic: 'cdc.public.orders',
    eventId: '7301:0/4F52CB8:1',
    commitLsn: '0/4F52CB8',
    xid: 4294967290,
    change: { tag: 'insert', relation: { name: 'left out' }, new: { id: 'o-1', total: 'NaN', big: 12345678901234567890n } },
    error: new RangeError('column total: NaN cannot be carried as a decimal'),
    nowMs: 1_700_000_000_000,
  };

  it('holds the change as JSON, keyed by its table, with bigints as text and the relation left out', () => {
    const { message, bytes } = deadLetterRecord(input);
    expect(message.key).toBe('public.orders');
    expect(JSON.parse(String(message.value))).toEqual({
      table: 'public.orders',
      tag: 'insert',
      commitLsn: '0/4F52CB8',
      xid: 4294967290,
      change: { tag: 'insert', new: { id: 'o-1', total: 'NaN', big: '12345678901234567890' } },
    });
    expect(bytes).toBe(String(message.value).length);
  });

  it('carries the failure headers of every dead letter, and the reader’s own', () => {
    const headers = deadLetterRecord(input).message.headers as Record<string, string>;
    expect(headers).toMatchObject({
      'event-id': '7301:0/4F52CB8:1',
      [READER_DLQ_HEADERS.errorMessage]: 'column total: NaN cannot be carried as a decimal',
      [READER_DLQ_HEADERS.sourceTable]: 'public.orders',
      [READER_DLQ_HEADERS.sourceLsn]: '0/4F52CB8',
      [FAILURE_HEADERS.originalTopic]: 'cdc.public.orders',
      [FAILURE_HEADERS.originalPartition]: '-1',
      [FAILURE_HEADERS.originalOffset]: '',
      [FAILURE_HEADERS.attempt]: '1',
      [FAILURE_HEADERS.firstFailureAtMs]: '1700000000000',
      [FAILURE_HEADERS.consumerGroup]: 'cdc-reader',
      [FAILURE_HEADERS.errorName]: 'RangeError',
      [FAILURE_HEADERS.errorCode]: 'UNENCODABLE_CHANGE',
      [FAILURE_HEADERS.errorMessage]: 'column total: NaN cannot be carried as a decimal',
    });
    expect(headers[FAILURE_HEADERS.errorStack]).toContain('RangeError: column total: NaN');
    expect(headers).not.toHaveProperty(FAILURE_HEADERS.dueAtMs);
  });
});
