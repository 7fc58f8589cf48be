import type { Stack } from '@pipeline/stack';
import { privateStack, testKafka, testLogLevel, testPool, uniqueName } from '@pipeline/testing';
import type pg from 'pg';
import { consume, migratePrivateDatabase, type ReaderFixture, testReaderOptions, waitStreaming } from './__tests__/harness';
import { CdcReader, type CdcReaderOptions } from './reader';

/**
 * A slot whose WAL PostgreSQL removed (`wal_status = lost`, max_slot_wal_keep_size): the reader
 * stops and says changes were missed; with CDC_ALLOW_NEW_SNAPSHOT a new slot and snapshot replace
 * it. On a private PostgreSQL with a 1 MB cap, so the shared server keeps its settings.
 */
describe('lost slot', () => {
  let stack: Stack;
  let admin: pg.Pool;
  let readerPool: pg.Pool;
  let fixture: ReaderFixture;
  let options: (overrides?: Partial<CdcReaderOptions>) => CdcReaderOptions;

  beforeAll(async () => {
    stack = await privateStack(['postgres'], { max_slot_wal_keep_size: '1MB', min_wal_size: '32MB', max_wal_size: '64MB' });
    await stack.up();
    const { ownerUrl, readerUrl: reader } = await migratePrivateDatabase(stack.endpoints.databaseUrl);
    const readerUrl = new URL(reader);
    // Both outlive the server at the end (stack.destroy): their idle clients' errors are expected.
    admin = testPool({ connectionString: ownerUrl, max: 2 });
    readerPool = testPool({ connectionString: readerUrl.toString(), max: 3 });
    const kafka = testKafka('lost-slot');
    const id = uniqueName('lost');
    const base = testReaderOptions({
      pool: readerPool,
      readerUrl: readerUrl.toString(),
      kafka,
      id,
      level: testLogLevel('silent'),
    });
    options = (overrides = {}) => ({ ...base, ...overrides });
    fixture = {
      db: { name: 'pipeline', url: ownerUrl, readerUrl: readerUrl.toString(), pool: admin, drop: async () => undefined },
      kafka,
      slot: base.slot,
      prefix: base.topicPrefix,
      schemaTopic: base.schemaTopic,
      deadLetterTopic: base.deadLetterTopic,
      topic: (table) => `${base.topicPrefix}.public.${table}`,
      options,
      env: () => ({}),
      close: async () => undefined,
    };
  }, 120_000);

  afterAll(async () => {
    await readerPool?.end();
    await admin?.end();
    await stack?.destroy();
  });

  it('stops the reader with the message; with the override a new slot and snapshot replace it', async () => {
    const first = new CdcReader(options());
    first.start();
    await waitStreaming(first);
    await first.stop();
    await admin.query(`INSERT INTO suppliers (name) VALUES ('before the loss')`);
    // WAL past the cap, switched and checkpointed until PostgreSQL removes what the slot needs.
    await admin.query('CREATE TABLE filler (payload text)');
    for (let round = 0; ; round++) {
      const { rows } = await admin.query<{ wal_status: string }>('SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [
        fixture.slot,
      ]);
      if (rows[0]?.wal_status === 'lost') break;
      if (round > 40) throw new Error(`the slot is ${rows[0]?.wal_status}, never lost`);
      await admin.query(`INSERT INTO filler SELECT repeat(md5(g::text), 64) FROM generate_series(1, 4000) g`);
      await admin.query('SELECT pg_switch_wal()');
      await admin.query('CHECKPOINT');
    }

    const fatal: Error[] = [];
    const stopped = new CdcReader(options({ onFatal: (error) => fatal.push(error) }));
    stopped.start();
    const deadline = Date.now() + 20_000;
    while (fatal.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await stopped.stop();
    expect(fatal[0]).toMatchObject({ code: 'SLOT_LOST', retriable: false });
    expect(fatal[0]?.message).toMatch(
      new RegExp(
        `^replication slot ${fixture.slot} is lost: PostgreSQL removed WAL it still needed \\(max_slot_wal_keep_size\\), so changes were missed`,
      ),
    );
    expect(fatal[0]?.message).toContain('restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true');

    const replaced = new CdcReader(options({ allowNewSnapshot: true }));
    replaced.start();
    await waitStreaming(replaced);
    await admin.query(`INSERT INTO suppliers (name) VALUES ('after the new snapshot')`);
    const names = ['before the loss', 'after the new snapshot'];
    const received = await consume(fixture, [fixture.topic('suppliers')], (all) =>
      names.every((name) => all.some((r) => r.envelope.after?.name === name)),
    );
    await replaced.stop();
    const opOf = (name: string) => received.filter((r) => r.envelope.after?.name === name).map((r) => r.envelope.op);
    // The row the lost WAL held arrives through the new snapshot.
    expect(opOf('before the loss')).toContain('r');
    expect(opOf('after the new snapshot')).toEqual(['c']);
    const { rows } = await admin.query<{ wal_status: string }>('SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [
      fixture.slot,
    ]);
    expect(rows[0]?.wal_status).not.toBe('lost');
  }, 180_000);
});
