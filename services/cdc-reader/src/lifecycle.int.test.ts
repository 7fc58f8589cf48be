import { once } from 'node:events';
import { freePort } from '@pipeline/testing';
import { consume, type ReaderFixture, readerFixture, waitStreaming } from './__tests__/harness';
import { startReaderProcess } from './__tests__/process';
import type { CdcReaderOptions } from './reader';
import { CdcReader } from './reader';

describe('cdc-reader start and stop', () => {
  let fixture: ReaderFixture;
  beforeAll(async () => {
    fixture = await readerFixture('lifecycle');
  });
  afterAll(async () => {
    await fixture.close();
  });

  it('a SIGTERM sends and confirms what is buffered: a clean restart redelivers nothing', async () => {
    const port = await freePort();
    const first = await startReaderProcess(fixture.env(), port);
    // Many small transactions; the last batch is typically still lingering or in flight.
    for (let t = 0; t < 200; t++) {
      await fixture.db.pool.query(
        `INSERT INTO suppliers (name, default_order_quantity) SELECT 'first-${t}-' || g, 1 FROM generate_series(1, 10) g`,
      );
    }
    const admin = fixture.kafka.admin();
    await admin.connect();
    // Besides the changes, the initial snapshot's end: one record per partition.
    const offsets = await admin.fetchTopicOffsets(fixture.topic('suppliers'));
    const produced = async () =>
      (await admin.fetchTopicOffsets(fixture.topic('suppliers'))).reduce((sum, o) => sum + Number(o.high), 0) - offsets.length;
    while ((await produced()) < 2000) await new Promise((resolve) => setTimeout(resolve, 10));
    first.kill('SIGTERM');
    const [code] = await once(first, 'exit');
    expect(code).toBe(0);
    const second = await startReaderProcess(fixture.env(), port);
    await fixture.db.pool.query(
      `INSERT INTO suppliers (name, default_order_quantity) SELECT 'second-' || g, 1 FROM generate_series(1, 10) g`,
    );
    while ((await produced()) < 2010) await new Promise((resolve) => setTimeout(resolve, 20));
    // Give a redelivery time to show up, then count again: nothing was produced twice.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    second.kill('SIGTERM');
    await once(second, 'exit');
    expect(await produced()).toBe(2010);
    await admin.disconnect();
    const received = await consume(fixture, [fixture.topic('suppliers')], (r) => r.length >= 2010);
    expect(new Set(received.map((r) => r.envelope.eventId)).size).toBe(2010);
  }, 120_000);

  it('stops with a message when a slot it used has vanished; with the override, a new slot and snapshot replace it', async () => {
    const fatal: Error[] = [];
    const options: CdcReaderOptions = fixture.options({ onFatal: (error) => fatal.push(error) });
    const reader = new CdcReader(options);
    reader.start();
    await waitStreaming(reader);
    await reader.stop();
    // Someone drops the slot while the reader is down.
    // The walsender ends a moment after the reader disconnects: drop once the slot is free.
    for (let tries = 0; ; tries++) {
      try {
        await fixture.db.pool.query('SELECT pg_drop_replication_slot($1)', [fixture.slot]);
        break;
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const again = new CdcReader(fixture.options({ onFatal: (error) => fatal.push(error) }));
    again.start();
    const deadline = Date.now() + 20_000;
    while (fatal.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await again.stop();
    expect(fatal[0]).toMatchObject({ code: 'SLOT_VANISHED', retriable: false });
    expect(fatal[0]?.message).toMatch(
      new RegExp(
        `^replication slot ${fixture.slot}, used by this reader since .*, no longer exists: changes committed after \\S+ may have been missed`,
      ),
    );
    expect(fatal[0]?.message).toContain('restart the reader with CDC_ALLOW_NEW_SNAPSHOT=true');
    // It did not quietly create a new slot past the gap.
    const { rows } = await fixture.db.pool.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [fixture.slot]);
    expect(rows).toHaveLength(0);

    // A change made in the gap; then the operator allows a new snapshot, which carries it.
    await fixture.db.pool.query(`INSERT INTO suppliers (name) VALUES ('written while the slot was gone')`);
    const replaced = new CdcReader(fixture.options({ allowNewSnapshot: true, onFatal: (error) => fatal.push(error) }));
    replaced.start();
    await waitStreaming(replaced);
    await fixture.db.pool.query(`INSERT INTO suppliers (name) VALUES ('written after the new snapshot')`);
    // Two keys, possibly on two partitions: wait for both (partitions are not read in lockstep).
    const names = ['written while the slot was gone', 'written after the new snapshot'];
    const received = await consume(fixture, [fixture.topic('suppliers')], (r) =>
      names.every((name) => r.some((e) => e.envelope.after?.name === name)),
    );
    await replaced.stop();
    expect(fatal).toHaveLength(1);
    const gap = received.filter((r) => r.envelope.after?.name === 'written while the slot was gone');
    expect(gap.map((r) => r.envelope.op)).toEqual(['r']);
    expect(received.find((r) => r.envelope.after?.name === 'written after the new snapshot')?.envelope.op).toBe('c');
  }, 60_000);
});
