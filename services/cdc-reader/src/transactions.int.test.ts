import { SchemaResolver } from '@pipeline/kafka';
import { bundledSchemas, SingleObjectDecoder, type TransactionRecord, transactionSchema } from '@pipeline/schemas';
import { uniqueName } from '@pipeline/testing';
import { consume, type ReaderFixture, readerFixture, startReader, waitStreaming } from './__tests__/harness';

/** Reads the transactions topic until `done`. */
async function readTransactions(fixture: ReaderFixture, done: (records: TransactionRecord[]) => boolean): Promise<TransactionRecord[]> {
  const resolver = new SchemaResolver({ kafka: fixture.kafka, topic: fixture.schemaTopic, bundled: bundledSchemas() });
  const decoder = new SingleObjectDecoder(resolver.resolve);
  const consumer = fixture.kafka.consumer({ groupId: uniqueName('test-tx'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: `${fixture.prefix}.transactions`, fromBeginning: true });
  const records: TransactionRecord[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${records.length} transaction records`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          records.push(await decoder.decode<TransactionRecord>(message.value, transactionSchema()));
          if (done(records)) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

describe('cdc.transactions', () => {
  let fixture: ReaderFixture;
  beforeAll(async () => {
    fixture = await readerFixture('txtopic');
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('END records count exactly the events each transaction produced, per table', async () => {
    const { reader } = startReader(fixture, { transactionTopic: true });
    await waitStreaming(reader);
    const { pool } = fixture.db;
    // A mix: one table, two tables, a primary-key change (two events), a truncate (one per partition).
    await pool.query(`INSERT INTO suppliers (name) SELECT 'tx ' || g FROM generate_series(1, 5) g`);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO suppliers (name) VALUES ('two tables')`);
      await client.query(`INSERT INTO customers (email, name) VALUES ('tx@example.com', 'Tx')`);
      await client.query(`UPDATE suppliers SET name = 'renamed' WHERE name = 'tx 1'`);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await pool.query(`UPDATE suppliers SET id = gen_random_uuid() WHERE name = 'tx 2'`);
    await pool.query('TRUNCATE opportunities');
    // Not captured: no transaction record at all.
    await pool.query(`INSERT INTO tasks (type, title) VALUES ('tx-test', 'not captured')`);

    const records = await readTransactions(fixture, (all) => all.filter((r) => r.status === 'END').length >= 4);
    await reader.stop();
    // Records of different transactions sit on different partitions: order them by commit LSN.
    const lsn = (text: string) => {
      const [high = '0', low = '0'] = text.split('/');
      return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
    };
    const ends = records.filter((r) => r.status === 'END').sort((a, b) => (lsn(a.lsn) < lsn(b.lsn) ? -1 : 1));
    const events = await consume(
      fixture,
      ['suppliers', 'customers', 'opportunities'].map(fixture.topic),
      (all) => all.length >= 5 + 3 + 2 + 3,
    );

    for (const end of ends) {
      const mine = events.filter((e) => e.envelope.eventId.startsWith(`${end.id}:`));
      const perTable = new Map<string, number>();
      for (const e of mine) {
        const table = `${e.envelope.source.schema}.${e.envelope.source.table}`;
        perTable.set(table, (perTable.get(table) ?? 0) + 1);
      }
      expect(new Map(end.dataCollections.map((c) => [c.table, c.eventCount]))).toEqual(perTable);
      expect(end.eventCount).toBe(mine.length);
      // Its BEGIN came first, with the same commit LSN and xid.
      const begin = records.findIndex((r) => r.status === 'BEGIN' && r.id === end.id);
      expect(begin).toBeGreaterThanOrEqual(0);
      expect(begin).toBeLessThan(records.indexOf(end));
      expect(records[begin]).toMatchObject({ lsn: end.lsn, txId: end.txId, eventCount: 0, dataCollections: [] });
    }
    expect(ends.map((e) => e.eventCount)).toEqual([5, 3, 2, 3]);
    expect(ends[1]?.dataCollections.map((c) => c.table).sort()).toEqual(['public.customers', 'public.suppliers']);
    expect(records).toHaveLength(8);
  }, 90_000);
});
