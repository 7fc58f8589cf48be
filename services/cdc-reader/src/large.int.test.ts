import { once } from 'node:events';
import { parseLsn } from '@pipeline/schemas';
import { freePort } from '@pipeline/testing';
import { type ReaderFixture, readerFixture } from './__tests__/harness';
import { sampleRss, startReaderProcess } from './__tests__/process';

const ROWS = 200_000;
/** Stated cap for the reader's resident memory through one 200,000-row transaction. */
const RSS_CAP_BYTES = 350 * 1024 * 1024;

describe('cdc-reader and one large transaction', () => {
  let fixture: ReaderFixture;
  beforeAll(async () => {
    fixture = await readerFixture('large');
  });
  afterAll(async () => {
    await fixture.close();
  });

  it(`streams a ${ROWS}-row transaction through with bounded memory (RSS under ${RSS_CAP_BYTES / 1024 / 1024} MB)`, async () => {
    const child = await startReaderProcess(fixture.env(), await freePort());
    const rss = sampleRss(child.pid as number);
    try {
      await fixture.db.pool.query(
        `INSERT INTO suppliers (name, default_order_quantity) SELECT 'big-' || g, 1 + g % 100 FROM generate_series(1, ${ROWS}) g`,
      );
      const { rows } = await fixture.db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const end = parseLsn(rows[0]?.lsn ?? '0/0');
      const admin = fixture.kafka.admin();
      await admin.connect();
      const deadline = Date.now() + 180_000;
      let produced = 0;
      let confirmed = 0n;
      while (Date.now() < deadline) {
        const offsets = await admin.fetchTopicOffsets(fixture.topic('suppliers'));
        // Less the initial snapshot's end, one record per partition.
        produced = offsets.reduce((sum, o) => sum + Number(o.high), 0) - offsets.length;
        const slot = await fixture.db.pool.query<{ lsn: string }>(
          'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
          [fixture.slot],
        );
        confirmed = parseLsn(slot.rows[0]?.lsn ?? '0/0');
        if (produced >= ROWS && confirmed >= end) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await admin.disconnect();
      expect(produced).toBe(ROWS);
      expect(confirmed >= end).toBe(true);
    } finally {
      const peak = rss.stop();
      process.stdout.write(`large transaction: ${ROWS} rows, reader peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB\n`);
      child.kill('SIGTERM');
      await once(child, 'exit');
      expect(peak).toBeLessThan(RSS_CAP_BYTES);
    }
  }, 240_000);
});
