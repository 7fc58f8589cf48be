import { parseLsn } from '@pipeline/schemas';
import { type ReaderFixture, readerFixture, startReader, waitStreaming } from './__tests__/harness';
import type { CdcReader } from './reader';

describe('cdc-reader heartbeats', () => {
  let fixture: ReaderFixture;
  let reader: CdcReader;

  beforeAll(async () => {
    fixture = await readerFixture('idle');
    ({ reader } = startReader(fixture, { heartbeatIntervalMs: 200 }));
    await waitStreaming(reader);
  });
  afterAll(async () => {
    await reader.stop();
    await fixture.close();
  });

  async function slot(): Promise<{ confirmed: bigint; restart: bigint }> {
    const { rows } = await fixture.db.pool.query<{ confirmed: string; restart: string }>(
      'SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart FROM pg_replication_slots WHERE slot_name = $1',
      [fixture.slot],
    );
    return { confirmed: parseLsn(rows[0]?.confirmed ?? '0/0'), restart: parseLsn(rows[0]?.restart ?? '0/0') };
  }

  it('let the slot advance (confirmed_flush_lsn and restart_lsn) while the captured tables are idle and another table takes writes', async () => {
    const start = await slot();
    const deadline = Date.now() + 45_000;
    let now = start;
    // Writes to a table outside the publication make WAL the slot would otherwise hold back.
    while (Date.now() < deadline) {
      await fixture.db.pool.query(`INSERT INTO tasks (type, title) SELECT 'noise', 'n' || g FROM generate_series(1, 200) g`);
      // A running-transactions record lets PostgreSQL move restart_lsn (it writes one every 15 s by itself).
      await fixture.db.pool.query('SELECT pg_log_standby_snapshot()');
      await new Promise((resolve) => setTimeout(resolve, 250));
      now = await slot();
      if (now.confirmed > start.confirmed && now.restart > start.restart) break;
    }
    expect(now.confirmed > start.confirmed).toBe(true);
    expect(now.restart > start.restart).toBe(true);
    // Nothing was produced for the noise: the captured tables' topics hold only the initial snapshot's end (one per partition).
    const admin = fixture.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(fixture.topic('suppliers'));
    await admin.disconnect();
    expect(offsets.every((o) => o.high === '1')).toBe(true);
  }, 60_000);
});
