import { FAILURE_HEADERS, partitionOf, READER_DLQ_HEADERS, recordBytes } from '@pipeline/kafka';
import { envelopeSchema, type ParsedSchema, SingleObjectDecoder, snapshotEndSchema, transactionSchema } from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import { changeRecord, deadLetterRecord, snapshotEndRecords, transactionRecord } from './records';
import { traceIdOf, traceparent } from './trace';

/** Reads a record's value back as its writer wrote it. */
const decodeSingleObject = (schema: ParsedSchema, bytes: Buffer): Promise<unknown> =>
  new SingleObjectDecoder(async () => schema).decode(bytes, schema);

describe('change records', () => {
  const writer = envelopeSchema('public.orders');
  const row = firstEdgeRow('public.orders');
  const trace = traceIdOf('7301', '0/4F52CB8');

  it('carry the envelope as Avro, the row key, the time the change was read, and the contract’s headers', async () => {
    const envelope = { ...edgeEnvelope('public.orders', 'c', null, row), eventId: '7301:0/4F52CB8:0' };
    const { message, bytes } = changeRecord({ topic: 'cdc.public.orders', key: row.id, envelope }, writer, trace);
    expect(message.key).toBe(row.id);
    expect(message.partition).toBeUndefined();
    expect(message.timestamp).toBe(String(envelope.tsMs));
    expect(await decodeSingleObject(writer, message.value as Buffer)).toMatchObject({
      op: 'c',
      eventId: '7301:0/4F52CB8:0',
      after: { id: row.id },
    });
    expect(message.headers).toEqual({
      'event-id': '7301:0/4F52CB8:0',
      'schema-fingerprint': writer.fingerprint.hex,
      traceparent: traceparent(trace, '7301:0/4F52CB8:0'),
    });
    expect(bytes).toBe(recordBytes(message));
    expect(bytes).toBeGreaterThan((message.value as Buffer).length + row.id.length);
  });

  it('say the other key of a primary-key change, and address a truncate copy to its partition', () => {
    const moved = changeRecord(
      { topic: 't', key: row.id, movedKey: 'new-key', envelope: { ...edgeEnvelope('public.orders', 'd', row, null), eventId: 'x:0' } },
      writer,
      trace,
    );
    expect(moved.message.headers).toMatchObject({ 'key-moved': 'new-key' });
    const truncate = changeRecord(
      {
        topic: 't',
        key: '__control:truncate:public.orders:2',
        partition: 2,
        envelope: { ...edgeEnvelope('public.orders', 't', null, null), eventId: 'x:1:p2' },
      },
      writer,
      trace,
    );
    expect(truncate.message).toMatchObject({ key: '__control:truncate:public.orders:2', partition: 2 });
  });

  it('refuse a value the schema cannot carry (it goes to the dead letters instead)', () => {
    const envelope = { ...edgeEnvelope('public.orders', 'c', null, { ...row, total: 'NaN' }), eventId: 'x:0' };
    expect(() => changeRecord({ topic: 't', key: row.id, envelope }, writer, trace)).toThrow();
  });
});

describe('end-of-snapshot records', () => {
  it('one per partition, keyed by kind, table and partition, each on its partition with its own event id and the control header', async () => {
    const facts = {
      systemId: '7301',
      db: 'pipeline',
      schema: 'public',
      table: 'opportunities',
      slot: 'pipeline',
      consistentPoint: '0/4F52CB8',
      partitions: 3,
      rows: 42,
      nowMs: 1_780_000_000_000,
    };
    const records = snapshotEndRecords(facts, traceIdOf('7301', 'snapshot:0/4F52CB8'));
    expect(records.map((r) => [r.message.partition, r.message.key, r.message.timestamp])).toEqual([
      [0, '__control:snapshot-end:public.opportunities:0', '1780000000000'],
      [1, '__control:snapshot-end:public.opportunities:1', '1780000000000'],
      [2, '__control:snapshot-end:public.opportunities:2', '1780000000000'],
    ]);
    expect(await decodeSingleObject(snapshotEndSchema(), records[1]?.message.value as Buffer)).toEqual({
      db: 'pipeline',
      schema: 'public',
      table: 'opportunities',
      slot: 'pipeline',
      consistentPoint: '0/4F52CB8',
      partition: 1,
      partitions: 3,
      rows: 42,
      eventId: '7301:0/4F52CB8:e:public.opportunities:p1',
      tsMs: 1_780_000_000_000,
    });
    expect(records[2]?.message.headers).toMatchObject({
      'event-id': '7301:0/4F52CB8:e:public.opportunities:p2',
      'schema-fingerprint': snapshotEndSchema().fingerprint.hex,
      control: 'snapshot-end',
    });
  });
});

describe('transaction records', () => {
  const tx = {
    systemId: '7301',
    commitLsn: '0/4F52CB8',
    xid: 812,
    commitTs: '2026-11-29T17:35:04.123456Z',
    perTable: new Map([
      ['public.orders', 2],
      ['public.order_items', 3],
    ]),
    nowMs: 1_780_000_000_000,
  };

  it('BEGIN says nothing of the events, END counts them per table; each keyed by its event id, so compaction keeps both', async () => {
    const trace = traceIdOf(tx.systemId, tx.commitLsn);
    const begin = transactionRecord('BEGIN', tx, trace, 6);
    const end = transactionRecord('END', tx, trace, 6);
    expect(begin.message.key).toBe('7301:0/4F52CB8:BEGIN');
    expect(end.message.key).toBe('7301:0/4F52CB8:END');
    expect(begin.message.timestamp).toBe('1780000000000');
    // Both where the transaction's id would go as a key: its records stay in order.
    expect(begin.message.partition).toBe(partitionOf('', { key: '7301:0/4F52CB8', value: null }, 6));
    expect(end.message.partition).toBe(begin.message.partition);
    expect(await decodeSingleObject(transactionSchema(), begin.message.value as Buffer)).toMatchObject({
      status: 'BEGIN',
      eventCount: 0,
      dataCollections: [],
    });
    expect(await decodeSingleObject(transactionSchema(), end.message.value as Buffer)).toEqual({
      status: 'END',
      id: '7301:0/4F52CB8',
      txId: 812,
      lsn: '0/4F52CB8',
      commitTs: '2026-11-29T17:35:04.123456Z',
      eventCount: 5,
      dataCollections: [
        { table: 'public.orders', eventCount: 2 },
        { table: 'public.order_items', eventCount: 3 },
      ],
    });
    expect(end.message.headers).toMatchObject({
      'event-id': '7301:0/4F52CB8:END',
      'schema-fingerprint': transactionSchema().fingerprint.hex,
    });
  });
});

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
    expect(bytes).toBe(recordBytes(message));
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
